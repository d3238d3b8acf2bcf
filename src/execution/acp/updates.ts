import type { SessionUpdate, ToolCallContent, ToolCallUpdate } from "@agentclientprotocol/sdk";
import type { ToolCall } from "../../core/schema/agent.ts";
import type { RunOutput } from "../../core/ports/backend.ts";

/** Longest raw input/output/content kept per tool call: stored events stay small whatever a tool returns. */
export const MAX_TOOL_TEXT = 4_096;

/**
 * Turns one prompt turn's `session/update` notifications into run outputs. Tool call updates
 * carry only what changed; this keeps each call's latest state so every output is complete.
 */
export class TurnUpdates {
  private readonly toolCalls = new Map<string, ToolCall>();

  outputsOf(update: SessionUpdate): RunOutput[] {
    switch (update.sessionUpdate) {
      case "agent_message_chunk":
        return update.content.type === "text" && update.content.text.length > 0 ? [{ type: "delta", text: update.content.text }] : [];
      case "agent_thought_chunk":
        return update.content.type === "text" && update.content.text.length > 0 ? [{ type: "thought", text: update.content.text }] : [];
      case "tool_call":
      case "tool_call_update":
        return [{ type: "tool_call", tool_call: this.toolCall(update) }];
      case "plan":
        return [{ type: "plan", entries: update.entries.map(({ content, priority, status }) => ({ content, priority, status })) }];
      default:
        // Commands, modes, config options, usage and notices say nothing about this run's work.
        return [];
    }
  }

  /** The call's latest state with `update` applied (also the tool call a permission request names). */
  toolCall(update: ToolCallUpdate): ToolCall {
    const previous = this.toolCalls.get(update.toolCallId);
    const next: ToolCall = {
      tool_call_id: update.toolCallId,
      title: update.title ?? previous?.title ?? "",
      kind: update.kind ?? previous?.kind ?? "other",
      status: update.status ?? previous?.status ?? "pending",
      locations: update.locations
        ? update.locations.map(({ path, line }) => (line === undefined ? { path } : { path, line }))
        : (previous?.locations ?? []),
    };
    const content = update.content ? contentText(update.content) : previous?.content;
    if (content !== undefined) next.content = content;
    const raw_input = update.rawInput !== undefined ? jsonText(update.rawInput) : previous?.raw_input;
    if (raw_input !== undefined) next.raw_input = raw_input;
    const raw_output = update.rawOutput !== undefined ? jsonText(update.rawOutput) : previous?.raw_output;
    if (raw_output !== undefined) next.raw_output = raw_output;
    this.toolCalls.set(update.toolCallId, next);
    return next;
  }
}

/** `text` cut to MAX_TOOL_TEXT characters, with a marker saying how much was left out. */
export function clip(text: string): string {
  if (text.length <= MAX_TOOL_TEXT) return text;
  return `${text.slice(0, MAX_TOOL_TEXT)}…[truncated ${text.length - MAX_TOOL_TEXT} characters]`;
}

function jsonText(value: unknown): string {
  return clip(typeof value === "string" ? value : JSON.stringify(value) ?? "null");
}

function contentText(content: ToolCallContent[]): string {
  const parts = content.map((item) => {
    if (item.type === "diff") return `diff ${item.path}`;
    if (item.type === "terminal") return `terminal ${item.terminalId}`;
    return item.content.type === "text" ? item.content.text : `[${item.content.type}]`;
  });
  return clip(parts.join("\n"));
}
