/**
 * TenantDesk: one per tenant (`idFromName("tenant:" + tenantId)`), the service desk's authority.
 *
 * Receives (RPC, from services/desk): handoffs of conversations (to the queue or to a left
 * message), a customer writing to a conversation with people, assignment, transfer, pending,
 * resolution, agents' status/skills/capacity, messages to show live; and (fetch) WebSocket
 * upgrades from the authenticated live routes, with `?after=<seq>`.
 * Guarantees: every decision (which agent, whether a slot is free, what the queue holds) is made
 * and written in one synchronous step of this single-threaded object, so a conversation never
 * goes to two agents and an agent never holds more than its capacity, however many arrive at once.
 * A queued conversation takes the first slot that frees; its wait runs out after the tenant's
 * max_queue_seconds (the alarm moves it to a left message). Each move gets a version and a live
 * event with the next sequence number (kept in a bounded log, replayed after `after` on connect,
 * in the same step as the socket is accepted: no gap, no duplicate); then D1 and webhooks get it.
 * Also the message pages' feed (`?feed=messages`, sockets tagged apart from the desk's): the
 * status writer's notes (`messagesChanged`, at most one a second per isolate) become one
 * `messages.changed` a second at most, sent by the alarm (message-feed.ts); with no page open a
 * note changes nothing.
 * Never: decides on a copy read from D1; keeps sockets in memory (Hibernation API: an idle desk
 * costs nothing).
 */
import { DurableObject } from "cloudflare:workers";
import { type DeskMove, moveView, projectMoves } from "../../delivery/desk";
import {
  type AgentStatus,
  canMove,
  chooseAgent,
  type DeskSettings,
  type DeskState,
  placeOfHandoff,
} from "../../domain/desk";
import { flushChanges, noteChanges } from "../../domain/live-updates";
import { createLogger } from "../../lib/log";
import {
  agentLoads,
  appendLive,
  type DeskConversation,
  expiredQueue,
  lastSeq,
  liveSince,
  migrateDesk,
  nextExpiry,
  nextVersion,
  pendingProjections,
  projected,
  queuedConversations,
  queueProjection,
  readConversation,
  touchAgent,
  writeAgent,
  writeConversation,
} from "./desk-store";
import {
  broadcastChanged,
  DESK_FEED,
  MESSAGES_FEED,
  readLiveChanges,
  writeLiveChanges,
} from "./message-feed";
import { type AgentView, agentViews, greet, type QueueView, queueViews } from "./views";

export type { AgentView, QueueView };

/** A failed D1 projection is tried again this much later (by the alarm). */
const PROJECTION_RETRY_MS = 5_000;

export type DeskRefusal = { ok: false; code: "conflict" | "not-found"; detail: string };
export type DeskResult<T> = ({ ok: true } & T) | DeskRefusal;

export class TenantDesk extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private tenantId: string | null = null;
  /** The versions of the moves made in the current synchronous step (taken by `finish`). */
  private stepVersions: number[] = [];

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    ctx.blockConcurrencyWhile(async () => {
      migrateDesk(this.sql);
      this.tenantId = (await ctx.storage.get<string>("tenant_id")) ?? null;
    });
  }

  /** The tenant is named on every call: the object keeps it for its alarm. */
  private remember(tenantId: string): void {
    if (this.tenantId !== tenantId) {
      this.tenantId = tenantId;
      void this.ctx.storage.put("tenant_id", tenantId);
    }
  }

  /** One move of a conversation, written here with its version and live event. */
  private move(
    c: DeskConversation | null,
    next: Omit<DeskConversation, "channel" | "id"> & { id: string; channel: string },
    actor: string,
    reason: string | null,
    at: number,
  ): DeskMove {
    writeConversation(this.sql, next);
    const move: DeskMove = {
      conversationId: next.id,
      from: c?.state ?? null,
      to: next.state,
      agentId: next.agentId,
      skill: next.skill,
      dueAt: next.dueAt,
      version: nextVersion(this.sql),
      actor,
      reason,
      at,
    };
    queueProjection(this.sql, move.version, move);
    this.stepVersions.push(move.version);
    appendLive(this.sql, { type: "conversation.state", ...moveView(move) });
    return move;
  }

  /** Gives queued conversations to free slots, the longest waiting first. */
  private drain(at: number): void {
    const agents = agentLoads(this.sql);
    for (const queued of queuedConversations(this.sql)) {
      const agent = chooseAgent(agents, queued.skill);
      if (!agent) {
        continue;
      }
      agent.load += 1;
      agent.idleSince = at;
      touchAgent(this.sql, agent.userId, at);
      this.move(
        queued,
        { ...queued, state: "assigned", agentId: agent.userId, expiresAt: null, dueAt: null },
        "system",
        null,
        at,
      );
    }
  }

  /**
   * Broadcasts what was appended since `before`, projects this step's moves to D1, and sets the
   * alarm for the next queue expiry, or for a retry of the projection when D1 failed (the alarm
   * projects whatever is left): the decision stands either way. Each call projects only its own
   * moves, so a burst of calls writes each move once.
   */
  private async finish(tenantId: string, before: number, all = false): Promise<void> {
    const mine = this.stepVersions;
    this.stepVersions = [];
    this.broadcast(before);
    let retryAt: number | null = null;
    try {
      await this.project(tenantId, all ? null : mine);
    } catch (error) {
      createLogger(this.env.LOG_LEVEL, { tenant_id: tenantId }).error(
        "desk: D1 projection failed, will retry",
        { error },
      );
      retryAt = Date.now() + PROJECTION_RETRY_MS;
    }
    await this.alarmBy(nextExpiry(this.sql), retryAt, readLiveChanges(this.sql).flushAt);
  }

  /** Sets the alarm for the earliest of these times, unless one is set sooner already. */
  private async alarmBy(...times: (number | null)[]): Promise<void> {
    const wanted = times.filter((t): t is number => t !== null);
    if (wanted.length > 0) {
      const at = Math.min(...wanted);
      const current = await this.ctx.storage.getAlarm();
      if (current === null || current > at) {
        await this.ctx.storage.setAlarm(at);
      }
    }
  }

  /** The desk's own sockets (the message pages' feed gets only `messages.changed`). */
  private deskSockets(): WebSocket[] {
    return this.ctx.getWebSockets().filter((s) => !this.ctx.getTags(s).includes(MESSAGES_FEED));
  }

  /**
   * The status writer's note that `count` messages changed (coalesced per isolate): the
   * broadcast to the open message pages follows by the alarm, one a second at most.
   */
  async messagesChanged(tenantId: string, count: number): Promise<{ watching: boolean }> {
    this.remember(tenantId);
    if (this.ctx.getWebSockets(MESSAGES_FEED).length === 0) {
      return { watching: false };
    }
    const state = noteChanges(readLiveChanges(this.sql), count, Date.now());
    writeLiveChanges(this.sql, state);
    await this.alarmBy(state.flushAt);
    return { watching: true };
  }

  /** Sends `messages.changed` when one is due; true when it went out. */
  private flushMessageFeed(now: number): boolean {
    const { state, broadcast } = flushChanges(readLiveChanges(this.sql), now);
    if (broadcast === null) {
      return false;
    }
    writeLiveChanges(this.sql, state);
    broadcastChanged(this.ctx.getWebSockets(MESSAGES_FEED), broadcast, now);
    return true;
  }

  /** Writes the given moves (null: every one waiting) to D1, oldest first. */
  private async project(tenantId: string, versions: readonly number[] | null): Promise<void> {
    if (versions !== null && versions.length === 0) {
      return;
    }
    const moves = pendingProjections<DeskMove>(this.sql, versions);
    if (moves.length > 0) {
      await projectMoves(this.env, tenantId, moves);
      projected(
        this.sql,
        moves.map((m) => m.version),
      );
    }
  }

  private broadcast(before: number): void {
    const { events } = liveSince(this.sql, before);
    if (events.length === 0) {
      return;
    }
    for (const socket of this.deskSockets()) {
      for (const event of events) {
        try {
          socket.send(event);
        } catch {
          // A socket closing as we send: its client catches up when it reconnects.
        }
      }
    }
  }

  private conversationOrNew(id: string, channel: string): DeskConversation {
    return (
      readConversation(this.sql, id) ?? {
        id,
        channel,
        state: "bot",
        agentId: null,
        skill: null,
        queuedAt: null,
        expiresAt: null,
        dueAfterMs: 0,
        dueAt: null,
      }
    );
  }

  /**
   * A conversation asks for a person: queued (and assigned at once if a slot is free), or a left
   * message outside working hours or with no agent online (its automatic answer is returned).
   */
  async handoff(input: {
    tenantId: string;
    conversationId: string;
    channel: string;
    skill: string | null;
    settings: DeskSettings;
    at: number;
  }): Promise<{
    state: DeskState;
    agentId: string | null;
    answer: string | null;
    reason: string | null;
  }> {
    this.remember(input.tenantId);
    const before = lastSeq(this.sql);
    const known = readConversation(this.sql, input.conversationId);
    const c = this.conversationOrNew(input.conversationId, input.channel);
    if (known && (c.state === "queued" || c.state === "assigned" || c.state === "pending")) {
      return { state: c.state, agentId: c.agentId, answer: null, reason: null };
    }
    const online = agentLoads(this.sql).filter(
      (a) => a.status === "online" && (input.skill === null || a.skills.includes(input.skill)),
    ).length;
    const place = placeOfHandoff(input.settings, input.at, online);
    if (known?.state === "left_message" && place.state === "left_message") {
      // Writing again to a left message adds to it: no second automatic answer, no new due time.
      return { state: "left_message", agentId: null, answer: null, reason: null };
    }
    const dueAfterMs = input.settings.leftMessageDueHours * 3_600_000;
    if (place.state === "left_message") {
      this.move(
        known,
        {
          ...c,
          state: "left_message",
          agentId: null,
          skill: input.skill,
          queuedAt: null,
          expiresAt: null,
          dueAfterMs,
          dueAt: input.at + dueAfterMs,
        },
        "customer",
        place.reason,
        input.at,
      );
    } else {
      this.move(
        known,
        {
          ...c,
          state: "queued",
          agentId: null,
          skill: input.skill,
          queuedAt: input.at,
          expiresAt: input.at + input.settings.maxQueueSeconds * 1000,
          dueAfterMs,
          dueAt: null,
        },
        "customer",
        null,
        input.at,
      );
      this.drain(input.at);
    }
    await this.finish(input.tenantId, before);
    const now = readConversation(this.sql, input.conversationId);
    return {
      state: now?.state ?? place.state,
      agentId: now?.agentId ?? null,
      answer: place.state === "left_message" ? place.answer : null,
      reason: place.state === "left_message" ? place.reason : null,
    };
  }

  /** The customer wrote to a conversation with people: pending goes back to its agent. */
  async customerWrote(input: {
    tenantId: string;
    conversationId: string;
    message: Record<string, unknown>;
    at: number;
  }): Promise<{ state: DeskState | null }> {
    this.remember(input.tenantId);
    const before = lastSeq(this.sql);
    const c = readConversation(this.sql, input.conversationId);
    if (c?.state === "pending") {
      this.move(c, { ...c, state: "assigned" }, "customer", null, input.at);
    }
    appendLive(this.sql, {
      type: "message.received",
      conversation_id: input.conversationId,
      agent_id: c?.agentId ?? null,
      message: input.message,
    });
    await this.finish(input.tenantId, before);
    return { state: readConversation(this.sql, input.conversationId)?.state ?? null };
  }

  /** A message to show live (an agent's reply, an inbound message the desk does not own). */
  async publish(tenantId: string, event: Record<string, unknown>): Promise<void> {
    this.remember(tenantId);
    const before = lastSeq(this.sql);
    appendLive(this.sql, event);
    this.broadcast(before);
  }

  /**
   * Gives a conversation to an agent (a supervisor's choice, or an agent taking one from the
   * queue or the left messages): refused when the agent is unknown, offline or full.
   */
  async assign(input: {
    tenantId: string;
    conversationId: string;
    channel: string;
    agentId: string;
    actor: string;
    reason: string | null;
    at: number;
  }): Promise<DeskResult<{ state: DeskState; agentId: string }>> {
    this.remember(input.tenantId);
    const before = lastSeq(this.sql);
    const c = this.conversationOrNew(input.conversationId, input.channel);
    const known = readConversation(this.sql, input.conversationId);
    if (c.agentId === input.agentId && (c.state === "assigned" || c.state === "pending")) {
      return { ok: true, state: c.state, agentId: input.agentId };
    }
    if (!canMove(c.state, "assigned")) {
      return {
        ok: false,
        code: "conflict",
        detail: `A ${c.state} conversation cannot be assigned.`,
      };
    }
    const agent = agentLoads(this.sql).find((a) => a.userId === input.agentId);
    if (!agent) {
      return { ok: false, code: "not-found", detail: `No agent ${input.agentId} at the desk.` };
    }
    if (agent.status === "offline") {
      return { ok: false, code: "conflict", detail: `Agent ${input.agentId} is offline.` };
    }
    if (agent.load >= agent.capacity) {
      return {
        ok: false,
        code: "conflict",
        detail: `Agent ${input.agentId} is at capacity (${agent.capacity}).`,
      };
    }
    touchAgent(this.sql, agent.userId, input.at);
    this.move(
      known,
      { ...c, state: "assigned", agentId: agent.userId, expiresAt: null, dueAt: null },
      input.actor,
      input.reason,
      input.at,
    );
    // The agent it left (a reassignment) has a slot free.
    this.drain(input.at);
    await this.finish(input.tenantId, before);
    return { ok: true, state: "assigned", agentId: agent.userId };
  }

  /** Back to the queue for a skill (null: anyone): the next agent with it takes it. */
  async requeue(input: {
    tenantId: string;
    conversationId: string;
    skill: string | null;
    maxQueueSeconds: number;
    actor: string;
    at: number;
  }): Promise<DeskResult<{ state: DeskState; agentId: string | null }>> {
    this.remember(input.tenantId);
    const before = lastSeq(this.sql);
    const c = readConversation(this.sql, input.conversationId);
    if (!c || !canMove(c.state, "queued")) {
      return {
        ok: false,
        code: "conflict",
        detail: `A ${c?.state ?? "bot"} conversation cannot be transferred.`,
      };
    }
    this.move(
      c,
      {
        ...c,
        state: "queued",
        agentId: null,
        skill: input.skill,
        queuedAt: input.at,
        expiresAt: input.at + input.maxQueueSeconds * 1000,
        dueAt: null,
      },
      input.actor,
      "transfer",
      input.at,
    );
    this.drain(input.at);
    await this.finish(input.tenantId, before);
    const now = readConversation(this.sql, input.conversationId);
    return { ok: true, state: now?.state ?? "queued", agentId: now?.agentId ?? null };
  }

  /** Resolved (its slot frees) or pending (waiting for the customer; the agent keeps it). */
  async settle(input: {
    tenantId: string;
    conversationId: string;
    channel: string;
    to: "resolved" | "pending";
    actor: string;
    at: number;
  }): Promise<DeskResult<{ state: DeskState }>> {
    this.remember(input.tenantId);
    const before = lastSeq(this.sql);
    const known = readConversation(this.sql, input.conversationId);
    const c = this.conversationOrNew(input.conversationId, input.channel);
    if (c.state === input.to) {
      return { ok: true, state: c.state };
    }
    if (!canMove(c.state, input.to)) {
      return {
        ok: false,
        code: "conflict",
        detail: `A ${c.state} conversation cannot be ${input.to}.`,
      };
    }
    const keepsAgent = input.to === "pending";
    if (!keepsAgent && c.agentId) {
      touchAgent(this.sql, c.agentId, input.at);
    }
    this.move(
      known,
      {
        ...c,
        state: input.to,
        agentId: keepsAgent ? c.agentId : null,
        queuedAt: null,
        expiresAt: null,
        dueAt: null,
      },
      input.actor,
      null,
      input.at,
    );
    this.drain(input.at);
    await this.finish(input.tenantId, before);
    return { ok: true, state: input.to };
  }

  /** Sets an agent's status, skills or capacity; a slot that opens takes from the queue. */
  async setAgent(input: {
    tenantId: string;
    userId: string;
    status?: AgentStatus;
    skills?: string[];
    capacity?: number;
    at: number;
  }): Promise<AgentView> {
    this.remember(input.tenantId);
    const before = lastSeq(this.sql);
    const current = agentLoads(this.sql).find((a) => a.userId === input.userId);
    const next = {
      userId: input.userId,
      skills: input.skills ?? [...(current?.skills ?? [])],
      capacity: input.capacity ?? current?.capacity ?? 5,
      status: input.status ?? current?.status ?? "offline",
      idleSince: current?.idleSince ?? input.at,
    };
    writeAgent(this.sql, next);
    appendLive(this.sql, {
      type: "agent.updated",
      agent_id: next.userId,
      status: next.status,
      skills: next.skills,
      capacity: next.capacity,
    });
    this.drain(input.at);
    await this.finish(input.tenantId, before);
    const views = this.agents();
    const view = views.find((a) => a.userId === input.userId);
    if (!view) {
      throw new Error(`agent ${input.userId} not written`);
    }
    return view;
  }

  /** Every agent with its load and the conversations it holds. */
  agents(): AgentView[] {
    return agentViews(this.sql);
  }

  /** The queues, one per skill (null: any agent), the longest waiting first. */
  queues(): QueueView[] {
    return queueViews(this.sql);
  }

  /**
   * Queued conversations past max_queue_seconds become left messages, and a due
   * `messages.changed` goes out; safe to run twice.
   */
  override async alarm(): Promise<void> {
    const tenantId = this.tenantId;
    if (!tenantId) {
      return;
    }
    const now = Date.now();
    this.flushMessageFeed(now);
    const before = lastSeq(this.sql);
    for (const c of expiredQueue(this.sql, now)) {
      this.move(
        c,
        { ...c, state: "left_message", queuedAt: null, expiresAt: null, dueAt: now + c.dueAfterMs },
        "system",
        "queue_timeout",
        now,
      );
    }
    await this.finish(tenantId, before, true);
  }

  /** WebSocket upgrades only (the routes authenticate first); `?after=` catches up. */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return new Response("expected a WebSocket upgrade", { status: 426 });
    }
    const params = new URL(request.url).searchParams;
    if (params.get("feed") === MESSAGES_FEED) {
      const pair = new WebSocketPair();
      this.ctx.acceptWebSocket(pair[1], [MESSAGES_FEED]);
      pair[1].send(JSON.stringify({ type: "hello", feed: MESSAGES_FEED }));
      return new Response(null, { status: 101, webSocket: pair[0] });
    }
    const afterParam = params.get("after");
    const after = afterParam !== null && /^\d{1,15}$/.test(afterParam) ? Number(afterParam) : null;
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.ctx.acceptWebSocket(server, [DESK_FEED]);
    // Accepting and replaying are one synchronous step: nothing appended in between is missed or
    // sent twice (what comes after is broadcast to this socket too).
    greet(server, this.sql, after);
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(socket: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (message === "ping") {
      socket.send(JSON.stringify({ type: "pong", seq: lastSeq(this.sql) }));
    }
  }

  override async webSocketClose(socket: WebSocket, code: number): Promise<void> {
    try {
      socket.close(code === 1005 ? 1000 : code, "closing");
    } catch {
      // Already closed.
    }
  }
}
