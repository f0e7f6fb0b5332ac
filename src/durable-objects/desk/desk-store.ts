/**
 * The desk object's SQLite tables and the reads and writes its decisions are made of: agents
 * (skills, capacity, status, idle since), the conversations it has seen (state, agent, skill,
 * queue expiry) and the bounded log of live events. Every function here is synchronous, so a
 * decision and its writes are one step no other call can interleave with.
 */
import type { AgentLoad, AgentStatus, DeskState } from "../../domain/desk";

export function migrateDesk(sql: SqlStorage): void {
  sql.exec(`
    CREATE TABLE IF NOT EXISTS desk_agents (
      user_id TEXT PRIMARY KEY,
      skills TEXT NOT NULL,
      capacity INTEGER NOT NULL,
      status TEXT NOT NULL,
      idle_since INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS desk_conversations (
      id TEXT PRIMARY KEY,
      channel TEXT NOT NULL,
      state TEXT NOT NULL,
      agent_id TEXT,
      skill TEXT,
      queued_at INTEGER,
      expires_at INTEGER,
      due_after_ms INTEGER NOT NULL DEFAULT 0,
      due_at INTEGER
    );
    CREATE INDEX IF NOT EXISTS desk_conversations_agent ON desk_conversations (agent_id, state);
    CREATE INDEX IF NOT EXISTS desk_conversations_queue ON desk_conversations (state, queued_at);
    CREATE TABLE IF NOT EXISTS desk_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS projection_outbox (
      version INTEGER PRIMARY KEY,
      move TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS live_events (
      seq INTEGER PRIMARY KEY,
      event TEXT NOT NULL
    );
  `);
}

export interface DeskConversation {
  id: string;
  channel: string;
  state: DeskState;
  agentId: string | null;
  skill: string | null;
  queuedAt: number | null;
  expiresAt: number | null;
  dueAfterMs: number;
  dueAt: number | null;
}

interface ConversationSqlRow extends Record<string, SqlStorageValue> {
  id: string;
  channel: string;
  state: string;
  agent_id: string | null;
  skill: string | null;
  queued_at: number | null;
  expires_at: number | null;
  due_after_ms: number;
  due_at: number | null;
}

function conversationOf(row: ConversationSqlRow): DeskConversation {
  return {
    id: row.id,
    channel: row.channel,
    state: row.state as DeskState,
    agentId: row.agent_id,
    skill: row.skill,
    queuedAt: row.queued_at,
    expiresAt: row.expires_at,
    dueAfterMs: row.due_after_ms,
    dueAt: row.due_at,
  };
}

export function readConversation(sql: SqlStorage, id: string): DeskConversation | null {
  const row = sql
    .exec<ConversationSqlRow>("SELECT * FROM desk_conversations WHERE id = ?", id)
    .toArray()[0];
  return row ? conversationOf(row) : null;
}

export function writeConversation(sql: SqlStorage, c: DeskConversation): void {
  sql.exec(
    `INSERT INTO desk_conversations
       (id, channel, state, agent_id, skill, queued_at, expires_at, due_after_ms, due_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET state = excluded.state, agent_id = excluded.agent_id,
       skill = excluded.skill, queued_at = excluded.queued_at, expires_at = excluded.expires_at,
       due_after_ms = excluded.due_after_ms, due_at = excluded.due_at`,
    c.id,
    c.channel,
    c.state,
    c.agentId,
    c.skill,
    c.queuedAt,
    c.expiresAt,
    c.dueAfterMs,
    c.dueAt,
  );
}

/** The queued conversations, the longest waiting first. */
export function queuedConversations(sql: SqlStorage): DeskConversation[] {
  return sql
    .exec<ConversationSqlRow>(
      "SELECT * FROM desk_conversations WHERE state = 'queued' ORDER BY queued_at, id",
    )
    .toArray()
    .map(conversationOf);
}

/** Queued conversations whose wait ran out by `now`. */
export function expiredQueue(sql: SqlStorage, now: number): DeskConversation[] {
  return sql
    .exec<ConversationSqlRow>(
      `SELECT * FROM desk_conversations WHERE state = 'queued' AND expires_at <= ?
       ORDER BY queued_at, id`,
      now,
    )
    .toArray()
    .map(conversationOf);
}

export function nextExpiry(sql: SqlStorage): number | null {
  const row = sql
    .exec<{ at: number | null }>(
      "SELECT MIN(expires_at) AS at FROM desk_conversations WHERE state = 'queued'",
    )
    .toArray()[0];
  return row?.at ?? null;
}

interface AgentSqlRow extends Record<string, SqlStorageValue> {
  user_id: string;
  skills: string;
  capacity: number;
  status: string;
  idle_since: number;
  load: number;
}

/** Every agent with its load: the conversations assigned to it or pending with it. */
export function agentLoads(sql: SqlStorage): AgentLoad[] {
  return sql
    .exec<AgentSqlRow>(
      `SELECT a.user_id, a.skills, a.capacity, a.status, a.idle_since,
         (SELECT COUNT(*) FROM desk_conversations c
          WHERE c.agent_id = a.user_id AND c.state IN ('assigned', 'pending')) AS load
       FROM desk_agents a ORDER BY a.user_id`,
    )
    .toArray()
    .map((row) => ({
      userId: row.user_id,
      skills: JSON.parse(row.skills) as string[],
      capacity: row.capacity,
      status: row.status as AgentStatus,
      load: row.load,
      idleSince: row.idle_since,
    }));
}

export function writeAgent(sql: SqlStorage, agent: Omit<AgentLoad, "load">): void {
  sql.exec(
    `INSERT INTO desk_agents (user_id, skills, capacity, status, idle_since) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (user_id) DO UPDATE SET skills = excluded.skills, capacity = excluded.capacity,
       status = excluded.status, idle_since = excluded.idle_since`,
    agent.userId,
    JSON.stringify(agent.skills),
    agent.capacity,
    agent.status,
    agent.idleSince,
  );
}

export function touchAgent(sql: SqlStorage, userId: string, at: number): void {
  sql.exec("UPDATE desk_agents SET idle_since = ? WHERE user_id = ?", at, userId);
}

/** The next value of the object's counter: each move's version in D1. */
export function nextVersion(sql: SqlStorage): number {
  const row = sql
    .exec<{ value: number }>(
      `INSERT INTO desk_meta (key, value) VALUES ('version', 1)
       ON CONFLICT (key) DO UPDATE SET value = value + 1 RETURNING value`,
    )
    .toArray()[0];
  return row?.value ?? 1;
}

/** Live events kept for catching up; an older `after` is told to reload. */
export const LIVE_LOG_SIZE = 1_000;

/** Appends an event to the live log with the next sequence number; returns it as sent. */
export function appendLive(sql: SqlStorage, event: Record<string, unknown>): string {
  const last = sql.exec<{ seq: number | null }>("SELECT MAX(seq) AS seq FROM live_events").one();
  const seq = (last.seq ?? 0) + 1;
  const text = JSON.stringify({ seq, ...event });
  sql.exec("INSERT INTO live_events (seq, event) VALUES (?, ?)", seq, text);
  sql.exec("DELETE FROM live_events WHERE seq <= ?", seq - LIVE_LOG_SIZE);
  return text;
}

/** The events after `after`, in order; `complete` is false when some were dropped from the log. */
export function liveSince(sql: SqlStorage, after: number): { events: string[]; complete: boolean } {
  const first = sql.exec<{ seq: number | null }>("SELECT MIN(seq) AS seq FROM live_events").one();
  const events = sql
    .exec<{ event: string }>("SELECT event FROM live_events WHERE seq > ? ORDER BY seq", after)
    .toArray()
    .map((row) => row.event);
  const complete = first.seq === null || after >= first.seq - 1;
  return { events, complete };
}

export function lastSeq(sql: SqlStorage): number {
  return sql.exec<{ seq: number | null }>("SELECT MAX(seq) AS seq FROM live_events").one().seq ?? 0;
}

/** A move waiting to reach D1 (written in the step that made it; removed once projected). */
export function queueProjection(sql: SqlStorage, version: number, move: unknown): void {
  sql.exec(
    "INSERT INTO projection_outbox (version, move) VALUES (?, ?)",
    version,
    JSON.stringify(move),
  );
}

/** Moves waiting for D1, oldest first: those of `versions`, or all (null). */
export function pendingProjections<T>(sql: SqlStorage, versions: readonly number[] | null): T[] {
  const rows =
    versions === null
      ? sql.exec<{ move: string }>("SELECT move FROM projection_outbox ORDER BY version").toArray()
      : versions.flatMap((version) =>
          sql
            .exec<{ move: string }>("SELECT move FROM projection_outbox WHERE version = ?", version)
            .toArray(),
        );
  return rows.map((row) => JSON.parse(row.move) as T);
}

export function projected(sql: SqlStorage, versions: readonly number[]): void {
  for (const version of versions) {
    sql.exec("DELETE FROM projection_outbox WHERE version = ?", version);
  }
}
