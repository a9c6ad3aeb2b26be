// A small parser rather than a dependency: the stream comes through fetchApi (which adds the
// Backstage token that EventSource cannot send), and these 50 lines are all of it that we need.

/** One message of a server-sent event stream. */
export interface ServerSentEvent {
  id?: string;
  event: string;
  data: string;
}

/**
 * Parses a server-sent event stream (the WHATWG `text/event-stream` format) pushed in chunks of any
 * size: lines end with LF, CRLF or CR, a blank line ends a message, lines starting with `:` are
 * comments (keep-alives).
 */
export class ServerSentEventParser {
  #buffer = '';
  #pendingCr = false;
  #id?: string;
  #event = '';
  #data: string[] = [];

  constructor(private readonly onMessage: (message: ServerSentEvent) => void) {}

  push(chunk: string) {
    let text = chunk;
    // a CR at the end of the previous chunk may be the first half of a CRLF
    if (this.#pendingCr && text.startsWith('\n')) text = text.slice(1);
    this.#pendingCr = text.endsWith('\r');
    this.#buffer += text;
    const lines = this.#buffer.split(/\r\n|\r|\n/);
    this.#buffer = lines.pop() ?? '';
    for (const line of lines) this.#line(line);
  }

  #line(line: string) {
    if (line === '') {
      if (this.#data.length > 0) {
        this.onMessage({
          id: this.#id,
          event: this.#event || 'message',
          data: this.#data.join('\n'),
        });
      }
      this.#event = '';
      this.#data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.#data.push(value);
    else if (field === 'event') this.#event = value;
    else if (field === 'id' && !value.includes('\0')) this.#id = value;
  }
}

type Body =
  | ReadableStream<Uint8Array>
  | AsyncIterable<Uint8Array | string>
  | null;

/**
 * The text of a response body as it arrives: a browser's ReadableStream, or the Node stream some
 * fetch implementations (tests) return.
 */
export async function* readBody(response: {
  body: unknown;
  text(): Promise<string>;
}): AsyncGenerator<string> {
  const body = response.body as Body;
  const decoder = new TextDecoder();
  if (body && 'getReader' in body) {
    const reader = body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        yield decoder.decode(value, { stream: true });
      }
    } finally {
      reader.releaseLock();
    }
  } else if (body && Symbol.asyncIterator in body) {
    for await (const chunk of body) {
      yield typeof chunk === 'string'
        ? chunk
        : decoder.decode(chunk, { stream: true });
    }
  } else {
    yield await response.text();
    return;
  }
  const rest = decoder.decode();
  if (rest) yield rest;
}
