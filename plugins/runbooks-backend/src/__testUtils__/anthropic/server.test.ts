import Anthropic, { ClientOptions } from '@anthropic-ai/sdk';
import {
  AnthropicStandIn,
  countInputTokens,
  countTokens,
  ScriptedTurn,
} from './server';

const model = 'claude-sonnet-4-6';

const restartTool: Anthropic.Messages.Tool = {
  name: 'restart_deployment',
  description: 'Restarts a Kubernetes deployment.',
  input_schema: {
    type: 'object',
    properties: { namespace: { type: 'string' }, name: { type: 'string' } },
    required: ['namespace', 'name'],
  },
};

const ask: Anthropic.Messages.MessageParam = {
  role: 'user',
  content: 'The cart service returns 502s. What should we do?',
};

describe('AnthropicStandIn', () => {
  let server: AnthropicStandIn;
  const client = (options: ClientOptions = {}) =>
    new Anthropic({
      apiKey: server.apiKey,
      baseURL: server.url,
      maxRetries: 0,
      ...options,
    });

  beforeEach(async () => {
    server = await AnthropicStandIn.start({ script: [] });
  });

  afterEach(async () => {
    await server.close();
  });

  it('answers a text turn with the protocol fields and usage from the request', async () => {
    server.setScript([{ content: [{ type: 'text', text: 'Restart it.' }] }]);

    const message = await client().messages.create({
      model,
      max_tokens: 1024,
      system: 'You pick runbooks.',
      messages: [ask],
    });

    expect(message).toEqual({
      id: expect.stringMatching(/^msg_/),
      type: 'message',
      role: 'assistant',
      model,
      content: [{ type: 'text', text: 'Restart it.', citations: null }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      stop_details: null,
      container: null,
      diagnostics: null,
      usage: expect.objectContaining({
        input_tokens: countTokens('You pick runbooks.') + countTokens([ask]),
        output_tokens: countTokens('Restart it.'),
      }),
    });
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0].body).toEqual({
      model,
      max_tokens: 1024,
      system: 'You pick runbooks.',
      messages: [ask],
    });
    expect(server.requests[0].reply).toEqual(message);
    expect(server.requests[0].violations).toEqual([]);
  });

  it('carries a tool call and its result across two requests', async () => {
    server.setScript([
      {
        content: [
          { type: 'text', text: 'Restarting the cart.' },
          {
            type: 'tool_use',
            name: 'restart_deployment',
            input: { namespace: 'shop', name: 'cart' },
          },
        ],
      },
      { content: [{ type: 'text', text: 'The cart is back.' }] },
    ]);
    const anthropic = client();

    const first = await anthropic.messages.create({
      model,
      max_tokens: 1024,
      tools: [restartTool],
      messages: [ask],
    });
    expect(first.stop_reason).toBe('tool_use');
    const call = first.content[1];
    expect(call).toEqual({
      type: 'tool_use',
      id: expect.stringMatching(/^toolu_[\w-]{16}$/),
      name: 'restart_deployment',
      input: { namespace: 'shop', name: 'cart' },
      caller: { type: 'direct' },
    });
    if (call.type !== 'tool_use') {
      throw new Error('expected a tool call');
    }
    const result: Anthropic.Messages.ToolResultBlockParam = {
      type: 'tool_result',
      tool_use_id: call.id,
      content: 'deployment.apps/cart restarted',
    };

    // The answer goes back as the SDK returned it, as an agent loop does.
    const second = await anthropic.messages.create({
      model,
      max_tokens: 1024,
      tools: [restartTool],
      messages: [
        ask,
        { role: 'assistant', content: first.content },
        { role: 'user', content: [result] },
      ],
    });

    expect(second.content).toEqual([
      { type: 'text', text: 'The cart is back.', citations: null },
    ]);
    expect(server.requests).toHaveLength(2);
    expect(server.requests[1].body.messages[2].content).toEqual([result]);
    expect(server.requests[1].inputTokens).toBe(
      countInputTokens({
        tools: [restartTool],
        messages: [
          ask,
          { role: 'assistant', content: first.content },
          { role: 'user', content: [result] },
        ],
      }),
    );
    expect(server.requests[1].inputTokens).toBeGreaterThan(
      server.requests[0].inputTokens,
    );
  });

  it('streams the same message in many deltas, in the API order', async () => {
    const turn: ScriptedTurn = {
      content: [
        {
          type: 'text',
          text: 'The cart pods crash-loop after the last deploy; a restart should clear it. ✅',
        },
        {
          type: 'tool_use',
          id: 'toolu_fixed',
          name: 'restart_deployment',
          input: { namespace: 'shop', name: 'cart', reason: 'crash loop 🔁' },
        },
      ],
    };
    server.setScript(() => turn);
    const anthropic = client();
    const params: Anthropic.Messages.MessageCreateParamsNonStreaming = {
      model,
      max_tokens: 1024,
      tools: [restartTool],
      messages: [ask],
    };

    const plain = await anthropic.messages.create(params);

    const raw = await anthropic.messages.create({ ...params, stream: true });
    const events: Anthropic.Messages.RawMessageStreamEvent[] = [];
    for await (const event of raw) {
      events.push(event);
    }
    const order = events
      .map(event =>
        event.type === 'content_block_delta'
          ? `${event.index}:${event.delta.type}`
          : event.type,
      )
      .filter((type, i, all) => type !== all[i - 1]);
    expect(order).toEqual([
      'message_start',
      'content_block_start',
      '0:text_delta',
      'content_block_stop',
      'content_block_start',
      '1:input_json_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);

    const stream = anthropic.messages.stream(params);
    let texts = 0;
    let jsonParts = 0;
    stream.on('text', () => texts++);
    stream.on('inputJson', () => jsonParts++);
    const streamed = await stream.finalMessage();

    expect(texts).toBeGreaterThan(3);
    expect(jsonParts).toBeGreaterThan(3);
    expect(streamed.content).toEqual(plain.content);
    expect(streamed.stop_reason).toBe('tool_use');
    expect(streamed.usage.input_tokens).toBe(plain.usage.input_tokens);
    expect(streamed.usage.output_tokens).toBe(plain.usage.output_tokens);
    expect(server.requests[2].reply).toMatchObject({
      content: streamed.content,
      stop_reason: streamed.stop_reason,
      usage: streamed.usage,
    });
  });

  it('counts more input tokens for a bigger prompt, and count_tokens agrees', async () => {
    server.setScript(() => ({ content: [{ type: 'text', text: 'ok' }] }));
    const anthropic = client();
    const small = await anthropic.messages.create({
      model,
      max_tokens: 64,
      messages: [ask],
    });
    const logs = 'kubelet: Back-off restarting failed container\n'.repeat(50);
    const big = await anthropic.messages.create({
      model,
      max_tokens: 64,
      tools: [restartTool],
      messages: [{ role: 'user', content: `${ask.content}\n${logs}` }],
    });

    expect(big.usage.input_tokens).toBeGreaterThan(
      small.usage.input_tokens + countTokens(logs) - 1,
    );
    const counted = await anthropic.messages.countTokens({
      model,
      tools: [restartTool],
      messages: [{ role: 'user', content: `${ask.content}\n${logs}` }],
    });
    expect(counted.input_tokens).toBe(big.usage.input_tokens);
    expect(countTokens('')).toBe(0);
    expect(countTokens('abcd')).toBe(1);
    expect(countTokens('abcde')).toBe(2);
    expect(countTokens('é')).toBe(1);
    expect(countTokens({ a: 1 })).toBe(2);
  });

  it('accepts the key as x-api-key or as a bearer token, and refuses a wrong one', async () => {
    server.setScript(() => ({ content: [{ type: 'text', text: 'ok' }] }));
    const params = { model, max_tokens: 64, messages: [ask] };

    await client().messages.create(params);
    expect(server.requests[0].headers.authorization).toBe(
      `Bearer ${server.apiKey}`,
    );

    await client({
      defaultHeaders: { 'x-api-key': server.apiKey, authorization: null },
    }).messages.create(params);
    expect(server.requests[1].headers['x-api-key']).toBe(server.apiKey);
    expect(server.requests[1].headers.authorization).toBeUndefined();

    const refused = client({ apiKey: 'sk-ant-wrong' }).messages.create(params);
    await expect(refused).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
    await expect(refused).rejects.toMatchObject({
      status: 401,
      error: {
        type: 'error',
        error: { type: 'authentication_error', message: 'invalid x-api-key' },
      },
    });
    expect(server.requests).toHaveLength(2);
    expect(server.rejections).toEqual([
      expect.objectContaining({ status: 401, path: '/v1/messages' }),
    ]);
  });

  it('surfaces scripted API errors as the SDK error classes, and honours retry-after-ms', async () => {
    const ok: ScriptedTurn = { content: [{ type: 'text', text: 'ok' }] };
    server.setScript([
      {
        status: 429,
        error: { type: 'rate_limit_error', message: 'slow down' },
      },
      { status: 529 },
      { status: 429, retryAfterMs: 1 },
      ok,
    ]);
    const params = { model, max_tokens: 64, messages: [ask] };

    const limited = client().messages.create(params);
    await expect(limited).rejects.toBeInstanceOf(Anthropic.RateLimitError);
    await expect(limited).rejects.toMatchObject({
      status: 429,
      error: { error: { type: 'rate_limit_error', message: 'slow down' } },
    });
    const overloaded = client().messages.create(params);
    await expect(overloaded).rejects.toBeInstanceOf(Anthropic.OverloadedError);
    await expect(overloaded).rejects.toMatchObject({
      error: { error: { type: 'overloaded_error' } },
    });

    const started = Date.now();
    const retried = await client({ maxRetries: 1 }).messages.create(params);
    expect(retried.content).toEqual([
      { type: 'text', text: 'ok', citations: null },
    ]);
    // the SDK's own first backoff is 375-500 ms; retry-after-ms cut it short
    expect(Date.now() - started).toBeLessThan(300);
    expect(server.requests.map(r => r.status)).toEqual([429, 529, 429, 200]);
  });

  it('rejects a tool_result that answers no tool_use with a 400, before the script', async () => {
    server.setScript([{ content: [{ type: 'text', text: 'ok' }] }]);

    const orphan = client().messages.create({
      model,
      max_tokens: 64,
      tools: [restartTool],
      messages: [
        ask,
        { role: 'assistant', content: 'Let me look.' },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_nowhere', content: 'x' },
          ],
        },
      ],
    });

    await expect(orphan).rejects.toBeInstanceOf(Anthropic.BadRequestError);
    await expect(orphan).rejects.toMatchObject({
      status: 400,
      error: {
        error: {
          type: 'invalid_request_error',
          message: expect.stringContaining(
            'messages.2.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_nowhere',
          ),
        },
      },
    });
    expect(server.requests).toHaveLength(0);
    // the refused request did not use up the script's first turn
    const next = await client().messages.create({
      model,
      max_tokens: 64,
      messages: [ask],
    });
    expect(next.content[0]).toMatchObject({ text: 'ok' });
  });

  const call = {
    type: 'tool_use',
    id: 'toolu_1',
    name: 'restart_deployment',
    input: {},
  };
  const result = { type: 'tool_result', tool_use_id: 'toolu_1' };
  it.each<[string, Record<string, unknown>, string]>([
    ['no model', { model: undefined }, 'model: '],
    ['max_tokens 0', { max_tokens: 0 }, 'max_tokens: '],
    ['max_tokens 1.5', { max_tokens: 1.5 }, 'max_tokens: '],
    ['no messages', { messages: [] }, 'messages: '],
    [
      'an assistant first',
      { messages: [{ role: 'assistant', content: 'hi' }] },
      'messages.0.role: the first message must use the "user" role',
    ],
    [
      'an unknown role',
      { messages: [{ role: 'tool', content: 'hi' }] },
      'messages.0.role: ',
    ],
    [
      'an extra key on a message',
      { messages: [{ role: 'user', content: 'hi', name: 'bob' }] },
      'messages.0: ',
    ],
    [
      'an empty user message',
      { messages: [{ role: 'user', content: '' }] },
      'messages.0: all messages must have non-empty content',
    ],
    [
      'an empty text block',
      { messages: [{ role: 'user', content: [{ type: 'text', text: '' }] }] },
      'messages.0.content.0.text: text content blocks must be non-empty',
    ],
    [
      'a tool without input_schema',
      { tools: [{ name: 'restart' }] },
      'tools.0.input_schema: Field required',
    ],
    [
      'a tool schema that is not an object',
      { tools: [{ name: 'restart', input_schema: { type: 'string' } }] },
      'tools.0.input_schema.type: ',
    ],
    [
      'a tool name with a dot',
      { tools: [{ ...restartTool, name: 'restart.deployment' }] },
      'tools.0.name: ',
    ],
    [
      'two tools of one name',
      { tools: [restartTool, restartTool] },
      'tools: Tool names must be unique.',
    ],
    [
      'tool_choice naming an unknown tool',
      { tools: [restartTool], tool_choice: { type: 'tool', name: 'drop_db' } },
      "tool_choice.name: Tool 'drop_db' not found in provided tools",
    ],
    [
      'tool_choice without tools',
      { tools: undefined, tool_choice: { type: 'any' } },
      'tool_choice may only be specified while providing tools',
    ],
    [
      'a tool_use left without its result',
      {
        messages: [
          ask,
          { role: 'assistant', content: [call] },
          { role: 'user', content: 'and?' },
        ],
      },
      'messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_1',
    ],
    [
      'text before a tool_result',
      {
        messages: [
          ask,
          { role: 'assistant', content: [call] },
          { role: 'user', content: [{ type: 'text', text: 'here' }, result] },
        ],
      },
      'messages.2.content.1: `tool_result` blocks must come first',
    ],
    [
      'a tool_use in a user message',
      { messages: [{ role: 'user', content: [call] }] },
      'messages.0.content.0: tool_use blocks can only appear in assistant messages',
    ],
  ])('rejects %s with a 400', async (_name, change, message) => {
    const body = {
      model,
      max_tokens: 64,
      tools: [restartTool],
      messages: [ask],
      ...change,
    } as Anthropic.Messages.MessageCreateParamsNonStreaming;

    const refused = client().messages.create(body);

    await expect(refused).rejects.toBeInstanceOf(Anthropic.BadRequestError);
    await expect(refused).rejects.toMatchObject({
      error: { error: { message: expect.stringContaining(message) } },
    });
    expect(server.rejections).toHaveLength(1);
  });

  it('accepts consecutive turns of one role, tool results split over them, and a prefill', async () => {
    server.setScript([{ content: [{ type: 'text', text: 'ok' }] }]);
    const calls = [
      { ...call, id: 'toolu_a' },
      { ...call, id: 'toolu_b' },
    ] as Anthropic.Messages.ToolUseBlockParam[];

    await client().messages.create({
      model,
      max_tokens: 64,
      tools: [restartTool],
      messages: [
        ask,
        { role: 'user', content: 'Please hurry.' },
        { role: 'assistant', content: [calls[0]] },
        { role: 'assistant', content: [calls[1]] },
        {
          role: 'user',
          content: [{ type: 'tool_result', tool_use_id: 'toolu_a' }],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_b', is_error: true },
          ],
        },
        { role: 'assistant', content: 'The answer is' },
      ],
    });

    expect(server.rejections).toEqual([]);
    expect(server.requests).toHaveLength(1);
  });

  it('returns a tool call the request did not allow, and records the violation', async () => {
    server.setScript([
      {
        content: [
          { type: 'tool_use', name: 'drop_database', input: { name: 'cart' } },
        ],
      },
    ]);

    const message = await client().messages.create({
      model,
      max_tokens: 64,
      tools: [restartTool],
      tool_choice: { type: 'tool', name: 'restart_deployment' },
      messages: [ask],
    });

    expect(message.content[0]).toMatchObject({
      type: 'tool_use',
      name: 'drop_database',
    });
    expect(server.requests[0].violations).toEqual([
      'called drop_database, which the request did not declare',
      'tool_choice asked for restart_deployment, the answer called drop_database',
    ]);
  });

  it('fails loudly with a 500, not retried, when the script runs out', async () => {
    server.setScript([{ content: [{ type: 'text', text: 'once' }] }]);
    const anthropic = client({ maxRetries: 2 });
    const params = { model, max_tokens: 64, messages: [ask] };
    await anthropic.messages.create(params);

    const exhausted = anthropic.messages.create(params);

    await expect(exhausted).rejects.toBeInstanceOf(
      Anthropic.InternalServerError,
    );
    await expect(exhausted).rejects.toMatchObject({
      status: 500,
      error: {
        error: {
          type: 'api_error',
          message:
            'AnthropicStandIn: Error: the script ran out: it has 1 turn(s) and this is request 2',
        },
      },
    });
    expect(server.requests.map(r => r.status)).toEqual([200, 500]);
  });

  it('delays an answer past a client timeout', async () => {
    server.setScript([
      { content: [{ type: 'text', text: 'late' }], delayMs: 1000 },
      { content: [{ type: 'text', text: 'on time' }] },
    ]);
    const params = { model, max_tokens: 64, messages: [ask] };

    await expect(
      client({ timeout: 100 }).messages.create(params),
    ).rejects.toBeInstanceOf(Anthropic.APIConnectionTimeoutError);
    const next = await client().messages.create(params);
    expect(next.content[0]).toMatchObject({ text: 'on time' });
  });

  it('answers other routes with a 404 in the error shape', async () => {
    const listed = client().models.list();

    await expect(listed).rejects.toBeInstanceOf(Anthropic.NotFoundError);
    await expect(listed).rejects.toMatchObject({
      error: { type: 'error', error: { type: 'not_found_error' } },
    });
    expect(server.rejections[0]).toMatchObject({
      method: 'GET',
      path: '/v1/models',
      status: 404,
    });
  });
});
