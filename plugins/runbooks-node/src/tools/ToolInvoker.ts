/**
 * How a tool describes itself to the engine (from MCP `tools/list` for MCP servers).
 * @public
 */
export interface ToolDescription {
  /** `server/tool`. */
  name: string;
  description?: string;
  /** JSON Schema of the tool's input. */
  inputSchema?: Record<string, unknown>;
  /** MCP annotations; a tool that declares nothing is treated as destructive and non-idempotent. */
  annotations?: {
    readOnlyHint?: boolean;
    destructiveHint?: boolean;
    idempotentHint?: boolean;
  };
  /** Whether the tool accepts `dryRun: true` and returns a plan with its digest. */
  supportsDryRun?: boolean;
  /** Whether the tool can return a snapshot of the state it would act on, for before/after diffs. */
  supportsSnapshot?: boolean;
}

/**
 * One change a plan says a mutating tool would make.
 * @public
 */
export interface ToolPlanChange {
  action: string;
  kind?: string;
  name?: string;
  namespace?: string;
  address?: string;
  [key: string]: unknown;
}

/**
 * The plan a mutating tool returns for a dry-run.
 * @public
 */
export interface ToolPlan {
  changes: ToolPlanChange[];
  objectCount: number;
  /** Human-readable diff of the change. */
  diff?: string;
  [key: string]: unknown;
}

/**
 * A call of a tool.
 * @public
 */
export interface ToolInvocation {
  /** `server/tool`. */
  tool: string;
  input: Record<string, unknown>;
  /** Plan only; change nothing. */
  dryRun: boolean;
  /** For an apply: the digest of the approved plan; the tool refuses when its fresh plan differs. */
  expectedPlanDigest?: string;
  /** Stable per step run: the same key for a retry of the same step of the same execution. */
  idempotencyKey: string;
  signal: AbortSignal;
  timeoutMs: number;
}

/**
 * What a tool call returned.
 * @public
 */
export interface ToolResult {
  /** The tool's structured output (for verify expressions and the record). */
  output: unknown;
  /** For a dry-run of a mutating tool: the plan and its digest. */
  plan?: ToolPlan;
  planDigest?: string;
  /** Set when the tool reported an error (a refused apply among others). */
  error?: string;
}

/**
 * A request for a snapshot of the state a tool acts on.
 * @public
 */
export interface ToolSnapshotRequest {
  tool: string;
  input: Record<string, unknown>;
  signal: AbortSignal;
  timeoutMs: number;
}

/**
 * The boundary between the execution engine and the tools that act on real systems. The engine
 * calls tools only through this interface; the MCP client pool is one implementation.
 * @public
 */
export interface ToolInvoker {
  /** The tool's description, or undefined when no server offers it. */
  describe(tool: string): Promise<ToolDescription | undefined>;
  /** Calls the tool. Rejects on transport failures, timeouts and aborts. */
  invoke(call: ToolInvocation): Promise<ToolResult>;
  /** The current state the tool would act on, when the tool offers snapshots. */
  snapshot(request: ToolSnapshotRequest): Promise<unknown>;
}
