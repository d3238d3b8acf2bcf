/** One dispatched Server-Sent Event. `data` joins the event's `data:` lines with "\n". */
export interface SseEvent {
  event: string;
  data: string;
  id: string | null;
}

export class SseEventTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`an event of the stream exceeded ${limit} characters`);
    this.name = "SseEventTooLargeError";
  }
}

/**
 * Incremental parser for `text/event-stream` (WHATWG HTML §9.2.6) over already-decoded text.
 * Text may be fed in pieces split anywhere, including between the `\r` and `\n` of one line
 * ending. Comments (`:` lines) and `retry:` are ignored; unknown fields are ignored as the
 * standard asks. Feed it text from a streaming `TextDecoder` so multibyte characters split across
 * network chunks arrive whole.
 */
export class SseParser {
  private pending = "";
  /** Characters held for the event being assembled, to bound memory against a stream with no line breaks. */
  private held = 0;
  /** The previous piece ended with `\r`: a `\n` at the start of the next piece belongs to that line ending. */
  private skipLeadingNewline = false;
  private data: string[] = [];
  private event = "";
  private id: string | null = null;
  private hasData = false;

  constructor(private readonly maxEventChars = 16 * 1024 * 1024) {}

  /** Parses `text` and returns the events it completed, in order. */
  feed(text: string): SseEvent[] {
    const events: SseEvent[] = [];
    let start = 0;
    if (this.skipLeadingNewline && text.startsWith("\n")) start = 1;
    this.skipLeadingNewline = false;
    let index = start;
    while (index < text.length) {
      const code = text.charCodeAt(index);
      if (code !== 10 && code !== 13) {
        index++;
        continue;
      }
      const line = this.pending + text.slice(start, index);
      this.pending = "";
      if (code === 13) {
        if (index + 1 === text.length) this.skipLeadingNewline = true;
        else if (text.charCodeAt(index + 1) === 10) index++;
      }
      index++;
      start = index;
      const event = this.line(line);
      if (event) events.push(event);
    }
    this.pending += text.slice(start);
    if (this.held + this.pending.length > this.maxEventChars) {
      throw new SseEventTooLargeError(this.maxEventChars);
    }
    return events;
  }

  /**
   * The stream ended. The standard discards an event not terminated by a blank line; servers
   * that close right after their last `data:` line are common enough that it is dispatched instead.
   */
  end(): SseEvent[] {
    const events: SseEvent[] = [];
    if (this.pending.length > 0) {
      const event = this.line(this.pending);
      this.pending = "";
      if (event) events.push(event);
    }
    const last = this.dispatch();
    if (last) events.push(last);
    return events;
  }

  private line(line: string): SseEvent | null {
    if (line.length === 0) return this.dispatch();
    if (line.startsWith(":")) return null;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "data":
        this.held += value.length;
        this.data.push(value);
        this.hasData = true;
        break;
      case "event":
        this.event = value;
        break;
      case "id":
        if (!value.includes("\0")) this.id = value;
        break;
    }
    return null;
  }

  private dispatch(): SseEvent | null {
    if (!this.hasData) {
      this.event = "";
      return null;
    }
    const event: SseEvent = { event: this.event || "message", data: this.data.join("\n"), id: this.id };
    this.data = [];
    this.held = 0;
    this.hasData = false;
    this.event = "";
    return event;
  }
}
