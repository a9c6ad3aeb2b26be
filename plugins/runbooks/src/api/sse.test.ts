import { readBody, ServerSentEvent, ServerSentEventParser } from './sse';

function parse(chunks: string[]): ServerSentEvent[] {
  const messages: ServerSentEvent[] = [];
  const parser = new ServerSentEventParser(m => messages.push(m));
  for (const chunk of chunks) parser.push(chunk);
  return messages;
}

/** Every way of cutting the text into two chunks, and into single characters. */
function splits(text: string): string[][] {
  const result = [[text], text.split('')];
  for (let i = 1; i < text.length; i++) {
    result.push([text.slice(0, i), text.slice(i)]);
  }
  return result;
}

async function collect(iterable: AsyncIterable<string>): Promise<string[]> {
  const chunks: string[] = [];
  for await (const chunk of iterable) chunks.push(chunk);
  return chunks;
}

describe('ServerSentEventParser', () => {
  const stream = [
    ': keep-alive',
    'id: 5',
    'event: step-succeeded',
    'data: {"seq":5,',
    'data: "type":"step-succeeded"}',
    '',
    ':',
    '',
    'data:no space',
    '',
    'id: 6',
    'data: {"seq":6}',
    '',
    '',
  ];
  const expected: ServerSentEvent[] = [
    {
      id: '5',
      event: 'step-succeeded',
      data: '{"seq":5,\n"type":"step-succeeded"}',
    },
    // the id is the last event id seen: it carries over to the next message
    { id: '5', event: 'message', data: 'no space' },
    { id: '6', event: 'message', data: '{"seq":6}' },
  ];

  it.each([
    ['LF', '\n'],
    ['CRLF', '\r\n'],
    ['CR', '\r'],
  ])(
    'gives the same messages however %s-ended text is cut into chunks',
    (_name, eol) => {
      const text = stream.join(eol);
      for (const chunks of splits(text)) {
        expect({ chunks, messages: parse(chunks) }).toEqual({
          chunks,
          messages: expected,
        });
      }
    },
  );

  it('treats a CRLF cut between two chunks as one line end', () => {
    expect(
      parse(['data: a\r', '\n', 'data: b\r', '\n\r', '\ndata: c\r\n\r\n']),
    ).toEqual([
      { id: undefined, event: 'message', data: 'a\nb' },
      { id: undefined, event: 'message', data: 'c' },
    ]);
  });

  it('ignores comments and keep-alives, and blank lines without data', () => {
    expect(parse([': ping\n\n', ':\n\n', '\n\n', 'event: x\n\n'])).toEqual([]);
  });

  it('does not dispatch a message before its blank line arrives', () => {
    const messages: ServerSentEvent[] = [];
    const parser = new ServerSentEventParser(m => messages.push(m));
    parser.push('event: step-started\ndata: {"seq":1}\n');
    expect(messages).toEqual([]);
    parser.push('\n');
    expect(messages).toEqual([
      { id: undefined, event: 'step-started', data: '{"seq":1}' },
    ]);
  });

  it('resets the event type after each message but ignores ids with NUL', () => {
    expect(
      parse(['id: 1\nevent: a\ndata: x\n\n', 'id: 2\0\ndata: y\n\n']),
    ).toEqual([
      { id: '1', event: 'a', data: 'x' },
      { id: '1', event: 'message', data: 'y' },
    ]);
  });
});

describe('readBody', () => {
  const encoder = new TextEncoder();
  // "é" is two bytes in UTF-8: cut between them, it must still decode as one character
  const bytes = encoder.encode('data: café\n\n');
  const cut = bytes.indexOf(0xc3) + 1;
  const parts = [bytes.slice(0, cut), bytes.slice(cut)];

  it('reads a web ReadableStream, decoding characters cut across chunks', async () => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const part of parts) controller.enqueue(part);
        controller.close();
      },
    });
    const text = jest.fn();
    const chunks = await collect(readBody({ body, text }));
    expect(chunks.join('')).toBe('data: café\n\n');
    expect(chunks.length).toBeGreaterThan(1);
    expect(text).not.toHaveBeenCalled();
    // the reader's lock is released once the stream is read
    expect(body.locked).toBe(false);
  });

  it('reads an async iterable of bytes or strings (a Node stream)', async () => {
    const text = jest.fn();
    // a Node stream (what node-fetch gives) iterates Buffers
    async function* nodeStream() {
      yield Buffer.from(parts[0]);
      yield Buffer.from(parts[1]);
      yield Buffer.from('data: x\n\n');
    }
    const chunks = await collect(readBody({ body: nodeStream(), text }));
    expect(chunks.join('')).toBe('data: café\n\ndata: x\n\n');
    expect(text).not.toHaveBeenCalled();

    async function* generate() {
      yield 'id: 1\n';
      yield encoder.encode('data: y\n\n');
    }
    expect(await collect(readBody({ body: generate(), text }))).toEqual([
      'id: 1\n',
      'data: y\n\n',
    ]);
  });

  it('falls back to the text of a body that cannot be streamed', async () => {
    const text = jest.fn().mockResolvedValue('data: z\n\n');
    expect(await collect(readBody({ body: null, text }))).toEqual([
      'data: z\n\n',
    ]);
  });

  it('feeds the parser the messages of a streamed body', async () => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode('id: 5\r'));
        controller.enqueue(encoder.encode('\nevent: step-succeeded\r\nda'));
        controller.enqueue(encoder.encode('ta: {"seq":5}\r\n\r\n'));
        controller.close();
      },
    });
    const messages: ServerSentEvent[] = [];
    const parser = new ServerSentEventParser(m => messages.push(m));
    for await (const chunk of readBody({ body, text: jest.fn() })) {
      parser.push(chunk);
    }
    expect(messages).toEqual([
      { id: '5', event: 'step-succeeded', data: '{"seq":5}' },
    ]);
  });
});
