import type {
  ContentBlock,
  Message,
  MessageCreateParams,
  MessageTokensCount,
  RawMessageStreamEvent,
  StopReason,
} from '@anthropic-ai/sdk/resources/messages';
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { z } from 'zod';

/**
 * A content block the scripted "model" answers with; a `tool_use` without `id` gets a fresh `toolu_…`.
 * @public
 */
export type ScriptedBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id?: string; name: string; input: unknown };

/**
 * A scripted answer: the message the "model" returns to one request.
 * @public
 */
export interface ScriptedMessage {
  content: ScriptedBlock[];
  /** Defaults to `tool_use` when the content calls a tool, `end_turn` otherwise. */
  stop_reason?: StopReason;
  /** Wait this long before answering, to drive client timeouts. */
  delayMs?: number;
}

/**
 * A scripted API error (429 rate limit, 500, 529 overloaded …), sent in Anthropic's error shape.
 * @public
 */
export interface ScriptedError {
  status: number;
  /** Defaults to the type Anthropic uses for `status` and a generic message. */
  error?: { type: string; message: string };
  /** Sent as `retry-after-ms`, which the SDK waits before retrying. */
  retryAfterMs?: number;
  delayMs?: number;
}

/**
 * What the "model" answers to one request: a message or an API error.
 * @public
 */
export type ScriptedTurn = ScriptedMessage | ScriptedError;

/**
 * Chooses the answer to a valid request; `index` counts the valid requests since the script was set.
 * @public
 */
export type Script = (
  request: RecordedRequest,
  index: number,
) => ScriptedTurn | Promise<ScriptedTurn>;

/**
 * The body of an Anthropic API error.
 * @public
 */
export interface AnthropicErrorBody {
  type: 'error';
  error: { type: string; message: string };
  request_id: string;
}

/**
 * A valid request to `POST /v1/messages`, as the script saw it, and what the stand-in answered.
 * @public
 */
export interface RecordedRequest {
  headers: http.IncomingHttpHeaders;
  body: MessageCreateParams;
  /** `countInputTokens(body)`: what `usage.input_tokens` reports. */
  inputTokens: number;
  /**
   * What the scripted answer did that the request did not allow (a `tool_choice` ignored, an
   * undeclared tool called): the answer is still sent, as a compromised model could send it.
   */
  violations: string[];
  /** Set once answered; a streamed answer is recorded as the message its events add up to. */
  status?: number;
  reply?: Message | AnthropicErrorBody;
}

/**
 * A request refused before reaching the script: unknown route, bad key, invalid body.
 * @public
 */
export interface RejectedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: unknown;
  status: number;
  reply: AnthropicErrorBody;
}

/**
 * The stand-in's token estimate: ceil(UTF-8 bytes / 4) of a string, or of the JSON of anything
 * else; 0 for undefined. Deterministic, and it grows with what is sent.
 * @public
 */
export function countTokens(value: unknown): number {
  if (value === undefined) {
    return 0;
  }
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return Math.ceil(Buffer.byteLength(text, 'utf8') / 4);
}

/**
 * `usage.input_tokens` of a request: the estimate of its `system`, `messages` and `tools`.
 * @public
 */
export function countInputTokens(
  params: Pick<MessageCreateParams, 'system' | 'messages' | 'tools'>,
): number {
  return (
    countTokens(params.system) +
    countTokens(params.messages) +
    countTokens(params.tools)
  );
}

/**
 * `usage.output_tokens` of an answer: the estimate of each text, and of each tool call's name and input.
 * @public
 */
export function countOutputTokens(content: ContentBlock[]): number {
  return content.reduce(
    (sum, block) =>
      sum +
      (block.type === 'text' ? countTokens(block.text) : 0) +
      (block.type === 'tool_use'
        ? countTokens(block.name) + countTokens(block.input)
        : 0),
    0,
  );
}

const DEFAULT_API_KEY = 'sk-ant-stand-in';
// The real API refuses bodies over 32 MB.
const MAX_BODY_BYTES = 32 * 1024 * 1024;
// Small enough that every realistic text and tool input streams in several deltas.
const STREAM_CHUNK = 16;

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

/** A request the stand-in refuses, as the API would, before the script sees it. */
class Refusal extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const textBlockSchema = z.looseObject({
  type: z.literal('text'),
  text: z.string().min(1, 'text content blocks must be non-empty'),
});

const blockSchemas: Record<string, z.ZodType | undefined> = {
  text: textBlockSchema,
  tool_use: z.looseObject({
    id: z.string().min(1),
    name: z.string().min(1),
    input: z.record(z.string(), z.unknown()),
  }),
  tool_result: z.looseObject({
    tool_use_id: z.string().min(1),
    content: z
      .union([z.string(), z.array(z.looseObject({ type: z.string() }))])
      .optional(),
    is_error: z.boolean().optional(),
  }),
};

// Blocks the double does not model (image, document, thinking …) pass with only their `type` checked.
const contentBlockSchema = z
  .looseObject({ type: z.string() })
  .superRefine((block, ctx) => {
    const issues = blockSchemas[block.type]?.safeParse(block).error?.issues;
    for (const issue of issues ?? []) {
      ctx.addIssue({
        code: 'custom',
        message: issue.message,
        path: issue.path,
      });
    }
  });

const toolSchema = z
  .looseObject({
    name: z
      .string()
      .regex(/^[a-zA-Z0-9_-]{1,128}$/, "must match '^[a-zA-Z0-9_-]{1,128}$'"),
    type: z.string().nullish(),
    input_schema: z.looseObject({ type: z.literal('object') }).optional(),
  })
  .superRefine((tool, ctx) => {
    // Server tools (`web_search_…`, `bash_…`) carry a type and no schema.
    if ((tool.type ?? 'custom') === 'custom' && !tool.input_schema) {
      ctx.addIssue({
        code: 'custom',
        path: ['input_schema'],
        message: 'Field required',
      });
    }
  });

const parallel = { disable_parallel_tool_use: z.boolean().optional() };

const paramsSchema = z.looseObject({
  model: z.string().min(1),
  max_tokens: z.number().int().positive(),
  messages: z
    .array(
      // The real API refuses extra keys on a message ("Extra inputs are not permitted").
      z.strictObject({
        role: z.enum(['user', 'assistant']),
        content: z.union([z.string(), z.array(contentBlockSchema)]),
      }),
    )
    .min(1),
  system: z.union([z.string(), z.array(textBlockSchema)]).optional(),
  tools: z.array(toolSchema).optional(),
  tool_choice: z
    .discriminatedUnion('type', [
      z.looseObject({ type: z.literal('auto'), ...parallel }),
      z.looseObject({ type: z.literal('any'), ...parallel }),
      z.looseObject({ type: z.literal('none') }),
      z.looseObject({ type: z.literal('tool'), name: z.string(), ...parallel }),
    ])
    .optional(),
  stream: z.boolean().optional(),
});

type Params = z.infer<typeof paramsSchema>;

/** The rules that span messages, once the shape is right; returns the first one broken. */
function conversationError(params: Params): string | undefined {
  const tools = params.tools ?? [];
  const names = tools.map(tool => tool.name);
  if (new Set(names).size !== names.length) {
    return 'tools: Tool names must be unique.';
  }
  const choice = params.tool_choice;
  if (choice && choice.type !== 'none' && tools.length === 0) {
    return 'tool_choice: tool_choice may only be specified while providing tools.';
  }
  if (choice?.type === 'tool' && !names.includes(choice.name)) {
    return `tool_choice.name: Tool '${choice.name}' not found in provided tools`;
  }
  const messages = params.messages;
  if (messages[0].role !== 'user') {
    return 'messages.0.role: the first message must use the "user" role';
  }
  const seen = new Set<string>();
  // tool_use ids of the latest assistant turn, with the message that holds the first of them
  let pending: { ids: string[]; index: number } | undefined;
  const answered = new Set<string>();
  let otherBlockSeen = false;
  for (const [i, message] of messages.entries()) {
    const blocks =
      typeof message.content === 'string'
        ? [{ type: 'text', text: message.content }]
        : message.content;
    const last = i === messages.length - 1;
    if (
      (blocks.length === 0 || message.content === '') &&
      !(last && message.role === 'assistant')
    ) {
      return `messages.${i}: all messages must have non-empty content except for the optional final assistant message`;
    }
    // Consecutive messages of one role make one turn, as the real API combines them.
    const sameTurn = i > 0 && messages[i - 1].role === message.role;
    if (message.role === 'assistant') {
      if (!sameTurn || !pending) {
        pending = { ids: [], index: i };
        answered.clear();
      }
      for (const [j, block] of blocks.entries()) {
        if (block.type === 'tool_result') {
          return `messages.${i}.content.${j}: tool_result blocks can only appear in user messages`;
        }
        if (block.type === 'tool_use') {
          const id = String(block.id);
          if (seen.has(id)) {
            return `messages.${i}.content.${j}: tool_use ids must be unique, ${id} repeats`;
          }
          seen.add(id);
          pending.ids.push(id);
        }
      }
      continue;
    }
    if (!sameTurn) {
      otherBlockSeen = false;
    }
    for (const [j, block] of blocks.entries()) {
      if (block.type === 'tool_use') {
        return `messages.${i}.content.${j}: tool_use blocks can only appear in assistant messages`;
      }
      if (block.type !== 'tool_result') {
        otherBlockSeen = true;
        continue;
      }
      const id = String(block.tool_use_id);
      if (!pending?.ids.includes(id)) {
        return `messages.${i}.content.${j}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${id}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`;
      }
      if (otherBlockSeen) {
        return `messages.${i}.content.${j}: \`tool_result\` blocks must come first in a user message, before any other content`;
      }
      answered.add(id);
    }
    if (last || messages[i + 1].role !== 'user') {
      const missing = pending?.ids.filter(id => !answered.has(id)) ?? [];
      if (pending && missing.length > 0) {
        return missingResults(pending.index, missing);
      }
      pending = undefined;
    }
  }
  return undefined;
}

function missingResults(index: number, ids: string[]) {
  return `messages.${index}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${ids.join(
    ', ',
  )}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`;
}

/** What an answer did that the request's tools and tool_choice did not allow. */
function violationsOf(params: Params, content: ContentBlock[]): string[] {
  const calls = content.flatMap(block =>
    block.type === 'tool_use' ? [block.name] : [],
  );
  const declared = new Set((params.tools ?? []).map(tool => tool.name));
  const called = calls.join(', ') || 'no tool';
  const violations = calls
    .filter(name => !declared.has(name))
    .map(name => `called ${name}, which the request did not declare`);
  const choice = params.tool_choice;
  if (
    choice?.type === 'tool' &&
    (calls.length === 0 || calls.some(name => name !== choice.name))
  ) {
    violations.push(
      `tool_choice asked for ${choice.name}, the answer called ${called}`,
    );
  }
  if (choice?.type === 'any' && calls.length === 0) {
    violations.push(
      'tool_choice "any" asked for a tool call, the answer made none',
    );
  }
  if (choice?.type === 'none' && calls.length > 0) {
    violations.push(
      `tool_choice "none" forbade tool calls, the answer called ${called}`,
    );
  }
  if (
    choice &&
    choice.type !== 'none' &&
    choice.disable_parallel_tool_use &&
    calls.length > 1
  ) {
    violations.push(
      `parallel tool use was disabled, the answer called ${called}`,
    );
  }
  return violations;
}

function newId(prefix: string) {
  return `${prefix}${randomBytes(12).toString('base64url')}`;
}

function sleep(ms: number) {
  // unref: a test that gave up on a slow answer must not wait for it to exit
  return new Promise<void>(resolve => setTimeout(resolve, ms).unref());
}

/** Splits by code points so that no chunk ends inside a surrogate pair. */
function chunks(text: string): string[] {
  const points = Array.from(text);
  const out: string[] = [];
  for (let i = 0; i < points.length; i += STREAM_CHUNK) {
    out.push(points.slice(i, i + STREAM_CHUNK).join(''));
  }
  return out;
}

function parseParams(json: unknown, withMaxTokens: boolean) {
  const parsed = (
    withMaxTokens ? paramsSchema : paramsSchema.partial({ max_tokens: true })
  ).safeParse(json);
  if (!parsed.success) {
    throw new Refusal(
      400,
      parsed.error.issues
        .map(issue => `${issue.path.join('.')}: ${issue.message}`)
        .join('; '),
    );
  }
  const problem = conversationError(parsed.data as Params);
  if (problem) {
    throw new Refusal(400, problem);
  }
  // Checked as far as the double models it; the SDK's type says the rest.
  return { params: parsed.data as Params, body: json as MessageCreateParams };
}

/**
 * A local stand-in for the Anthropic Messages API (`POST /v1/messages`, streaming or not, and
 * `POST /v1/messages/count_tokens`) for tests and benchmarks: it validates requests as the API does
 * at the protocol level and answers what a script says, with usage from {@link countTokens}.
 * @public
 */
export class AnthropicStandIn {
  /** Valid requests to `POST /v1/messages`, in arrival order. */
  readonly requests: RecordedRequest[] = [];
  /** Requests refused before reaching the script. */
  readonly rejections: RejectedRequest[] = [];
  private readonly server: http.Server;
  private script: Script = fromTurns([]);
  private turns = 0;

  /** Listens on a free port of 127.0.0.1; clients authenticate with `apiKey` (a default test key if omitted). */
  static async start(options: {
    apiKey?: string;
    script: Script | ScriptedTurn[];
  }): Promise<AnthropicStandIn> {
    const standIn = new AnthropicStandIn(options.apiKey ?? DEFAULT_API_KEY);
    standIn.setScript(options.script);
    await new Promise<void>((resolve, reject) => {
      standIn.server.once('error', reject);
      standIn.server.listen(0, '127.0.0.1', resolve);
    });
    return standIn;
  }

  private constructor(readonly apiKey: string) {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch(error => {
        this.sendError(res, 500, `AnthropicStandIn: ${error}`);
      });
    });
  }

  /** The base URL to give the SDK, e.g. `http://127.0.0.1:43123`. */
  get url(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  /**
   * Replaces the script; its turn counter starts again at 0. With an array, request i gets turn i,
   * and a request past the end gets a 500 that says the script ran out.
   */
  setScript(script: Script | ScriptedTurn[]): void {
    this.script = Array.isArray(script) ? fromTurns(script) : script;
    this.turns = 0;
  }

  /** Stops listening and drops open connections, including answers still being delayed. */
  async close(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.close(error => (error ? reject(error) : resolve()));
      this.server.closeAllConnections();
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const path = new URL(req.url ?? '/', 'http://stand-in').pathname;
    const body = await readBody(req);
    const reject = (error: Refusal, json: unknown = body) => {
      const reply = this.sendError(res, error.status, error.message);
      this.rejections.push({
        method: req.method ?? '',
        path,
        headers: req.headers,
        body: json,
        status: error.status,
        reply,
      });
    };
    const route = `${req.method} ${path}`;
    if (
      route !== 'POST /v1/messages' &&
      route !== 'POST /v1/messages/count_tokens'
    ) {
      reject(new Refusal(404, `Not found: ${route}`));
      return;
    }
    let request: { params: Params; body: MessageCreateParams };
    try {
      request = this.parseRequest(req, body, path === '/v1/messages');
    } catch (error) {
      if (!(error instanceof Refusal)) {
        throw error;
      }
      reject(error, safeJson(body));
      return;
    }
    if (path === '/v1/messages/count_tokens') {
      const count: MessageTokensCount = {
        input_tokens: countInputTokens(request.body),
      };
      this.send(res, 200, count);
      return;
    }
    const record: RecordedRequest = {
      headers: req.headers,
      body: request.body,
      inputTokens: countInputTokens(request.body),
      violations: [],
    };
    this.requests.push(record);
    let turn: ScriptedTurn;
    try {
      turn = await this.script(record, this.turns++);
    } catch (error) {
      record.status = 500;
      // The fault is the test's: retrying would only hide it.
      record.reply = this.sendError(res, 500, `AnthropicStandIn: ${error}`, {
        'x-should-retry': 'false',
      });
      return;
    }
    if (turn.delayMs) {
      await sleep(turn.delayMs);
    }
    if (res.destroyed) {
      return;
    }
    if ('status' in turn) {
      const headers: Record<string, string> =
        turn.retryAfterMs === undefined
          ? {}
          : { 'retry-after-ms': String(turn.retryAfterMs) };
      record.status = turn.status;
      record.reply = this.sendError(
        res,
        turn.status,
        turn.error?.message ?? `scripted ${turn.status}`,
        headers,
        turn.error?.type,
      );
      return;
    }
    const message = toMessage(request.params, turn, record.inputTokens);
    record.violations = violationsOf(request.params, message.content);
    record.status = 200;
    record.reply = message;
    if (request.params.stream) {
      this.stream(res, message);
    } else {
      this.send(res, 200, message);
    }
  }

  private parseRequest(
    req: http.IncomingMessage,
    body: Buffer,
    withMaxTokens: boolean,
  ) {
    if (body.length > MAX_BODY_BYTES) {
      throw new Refusal(
        413,
        'Request exceeds the maximum allowed number of bytes.',
      );
    }
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const key = req.headers['x-api-key'] ?? bearer;
    if (!key) {
      throw new Refusal(401, 'x-api-key header is required');
    }
    if (key !== this.apiKey) {
      throw new Refusal(401, 'invalid x-api-key');
    }
    if (!req.headers['anthropic-version']) {
      throw new Refusal(400, 'anthropic-version: header is required');
    }
    const json = safeJson(body);
    if (json === undefined) {
      throw new Refusal(400, 'The request body is not valid JSON.');
    }
    return parseParams(json, withMaxTokens);
  }

  private stream(res: http.ServerResponse, message: Message) {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'request-id': newId('req_'),
    });
    const emit = (event: RawMessageStreamEvent) =>
      res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
    emit({
      type: 'message_start',
      message: {
        ...message,
        content: [],
        stop_reason: null,
        usage: { ...message.usage, output_tokens: 0 },
      },
    });
    for (const [index, block] of message.content.entries()) {
      if (block.type === 'text') {
        emit({
          type: 'content_block_start',
          index,
          content_block: { ...block, text: '' },
        });
        if (index === 0) {
          // The real API pings after the first block starts; the SDK must skip it.
          res.write('event: ping\ndata: {"type": "ping"}\n\n');
        }
        for (const text of chunks(block.text)) {
          emit({
            type: 'content_block_delta',
            index,
            delta: { type: 'text_delta', text },
          });
        }
      } else if (block.type === 'tool_use') {
        emit({
          type: 'content_block_start',
          index,
          content_block: { ...block, input: {} },
        });
        for (const partial_json of chunks(JSON.stringify(block.input))) {
          emit({
            type: 'content_block_delta',
            index,
            delta: { type: 'input_json_delta', partial_json },
          });
        }
      }
      emit({ type: 'content_block_stop', index });
    }
    emit({
      type: 'message_delta',
      delta: {
        stop_reason: message.stop_reason,
        stop_sequence: null,
        stop_details: null,
        container: null,
      },
      usage: {
        input_tokens: message.usage.input_tokens,
        output_tokens: message.usage.output_tokens,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        output_tokens_details: null,
        server_tool_use: null,
      },
    });
    emit({ type: 'message_stop' });
    res.end();
  }

  private send(
    res: http.ServerResponse,
    status: number,
    json: unknown,
    headers: Record<string, string> = {},
  ) {
    if (res.headersSent || res.destroyed) {
      return;
    }
    res.writeHead(status, {
      'content-type': 'application/json',
      'request-id': newId('req_'),
      ...headers,
    });
    res.end(JSON.stringify(json));
  }

  private sendError(
    res: http.ServerResponse,
    status: number,
    message: string,
    headers: Record<string, string> = {},
    type = ERROR_TYPES[status] ??
      (status >= 500 ? 'api_error' : 'invalid_request_error'),
  ): AnthropicErrorBody {
    const reply: AnthropicErrorBody = {
      type: 'error',
      error: { type, message },
      request_id: newId('req_'),
    };
    this.send(res, status, reply, headers);
    return reply;
  }
}

function fromTurns(turns: ScriptedTurn[]): Script {
  return (_request, index) => {
    if (index >= turns.length) {
      throw new Error(
        `the script ran out: it has ${
          turns.length
        } turn(s) and this is request ${index + 1}`,
      );
    }
    return turns[index];
  };
}

function toMessage(
  params: Params,
  turn: ScriptedMessage,
  inputTokens: number,
): Message {
  const content = turn.content.map(
    (block): ContentBlock =>
      block.type === 'text'
        ? { type: 'text', text: block.text, citations: null }
        : {
            type: 'tool_use',
            id: block.id ?? newId('toolu_'),
            name: block.name,
            input: block.input,
            caller: { type: 'direct' },
          },
  );
  return {
    id: newId('msg_'),
    type: 'message',
    role: 'assistant',
    model: params.model,
    content,
    stop_reason:
      turn.stop_reason ??
      (content.some(block => block.type === 'tool_use')
        ? 'tool_use'
        : 'end_turn'),
    stop_sequence: null,
    stop_details: null,
    container: null,
    diagnostics: null,
    usage: {
      input_tokens: inputTokens,
      output_tokens: countOutputTokens(content),
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      cache_creation: null,
      inference_geo: null,
      output_tokens_details: null,
      server_tool_use: null,
      service_tier: 'standard',
      speed: null,
    },
  };
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const part of req) {
    size += part.length;
    // Past the limit the rest is drained, not kept, and the request refused with 413.
    if (size <= MAX_BODY_BYTES + 1) {
      parts.push(part);
    }
  }
  return Buffer.concat(parts);
}

function safeJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}
