/**
 * The service desk's two inbound stages around the auto-replies (services/desk/intake has the
 * rules): `desk` before them (a handoff keyword, or a conversation with people: the robot then
 * stays quiet) and `desk_fallback` after them (a satisfaction digit after a resolution, or a
 * handoff when the robot had no answer). A left message's automatic answer goes back by SMS with
 * an idempotency key from the inbound id, so a rerun sends nothing twice.
 */
import type { InboundRow } from "../../delivery/inbound-store";
import { outgoingIdOf, sendToVisitor } from "../../delivery/webchat";
import {
  type DeskInbound,
  type DeskOutcome,
  deskAfterRobot,
  deskBeforeRobot,
} from "../desk/intake";
import { sendAutomatic } from "./automatic-sends";
import type { InboundStage, StageOutcome } from "./stage";

const E164 = /^\+[1-9]\d{1,14}$/;

/** The channels whose inbound messages these stages take (WeChat's are its webhook's). */
const DESK_CHANNELS: readonly string[] = ["sms", "webchat"];

function deskInboundOf(message: InboundRow): DeskInbound {
  return {
    tenantId: message.tenantId,
    conversationId: message.conversationId,
    channel: message.channel,
    text: message.body,
    menuKey: null,
    message: {
      id: message.id,
      direction: "inbound",
      body: message.body,
      at: new Date(message.receivedAt).toISOString(),
    },
    at: message.receivedAt,
  };
}

async function resultOf(env: Env, message: InboundRow, outcome: DeskOutcome): Promise<unknown> {
  if (outcome.kind !== "handoff" || outcome.answer === null) {
    return outcome;
  }
  if (message.channel === "webchat") {
    const id = await outgoingIdOf(`desk-answer:${message.id}`, () => "");
    await sendToVisitor(env, message.tenantId, {
      id,
      counterpart: message.sender,
      body: outcome.answer,
      from: "system",
      at: Date.now(),
    });
    return { ...outcome, answer_message: id };
  }
  const sent = await sendAutomatic(
    env,
    message.tenantId,
    {
      body: outcome.answer,
      to: message.sender,
      ...(E164.test(message.recipient) ? { from: message.recipient } : {}),
      metadata: { inbound_id: message.id, desk: outcome.state },
    },
    `desk-answer:${message.id}`,
  );
  return { ...outcome, answer_message: sent.sent ? sent.messageId : { refused: sent.reason } };
}

/** Whether the desk took the message before the robot (the auto-replies then do not run). */
export function deskTookIt(handling: Record<string, unknown>): boolean {
  const desk = handling.desk as { kind?: string } | undefined;
  return desk?.kind === "handoff" || desk?.kind === "to_people";
}

export const deskStage: InboundStage = {
  name: "desk",
  async run(env, message): Promise<StageOutcome> {
    if (!DESK_CHANNELS.includes(message.channel) || message.handling.desk !== undefined) {
      return {};
    }
    const outcome = await deskBeforeRobot(env, deskInboundOf(message));
    return outcome.kind === "none" ? {} : { result: await resultOf(env, message, outcome) };
  },
};

export const deskFallbackStage: InboundStage = {
  name: "desk_fallback",
  async run(env, message): Promise<StageOutcome> {
    const handling = message.handling;
    if (
      !DESK_CHANNELS.includes(message.channel) ||
      deskTookIt(handling) ||
      handling.desk_fallback !== undefined
    ) {
      return {};
    }
    const reply = handling.auto_reply as { message_id?: string } | undefined;
    const outcome = await deskAfterRobot(
      env,
      deskInboundOf(message),
      typeof reply?.message_id === "string",
    );
    return outcome.kind === "none" ? {} : { result: await resultOf(env, message, outcome) };
  },
};

/** The auto-replies, except when the desk took the message first. */
export function quietWhenDeskTookIt(stage: InboundStage): InboundStage {
  return {
    name: stage.name,
    run: (env, message, ctx) =>
      deskTookIt(message.handling) ? Promise.resolve({}) : stage.run(env, message, ctx),
  };
}
