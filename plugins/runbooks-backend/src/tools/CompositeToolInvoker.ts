import {
  ToolDescription,
  ToolInvocation,
  ToolInvoker,
  ToolResult,
  ToolSnapshotRequest,
} from '@runbooks/plugin-runbooks-node';

/** Routes each tool to the first invoker that describes it. */
export class CompositeToolInvoker implements ToolInvoker {
  constructor(private readonly invokers: ToolInvoker[]) {}

  private async find(
    tool: string,
  ): Promise<
    { invoker: ToolInvoker; description: ToolDescription } | undefined
  > {
    for (const invoker of this.invokers) {
      const description = await invoker.describe(tool);
      if (description) return { invoker, description };
    }
    return undefined;
  }

  async describe(tool: string): Promise<ToolDescription | undefined> {
    return (await this.find(tool))?.description;
  }

  async invoke(call: ToolInvocation): Promise<ToolResult> {
    const found = await this.find(call.tool);
    if (!found)
      return { output: undefined, error: `no tool server offers ${call.tool}` };
    return found.invoker.invoke(call);
  }

  async snapshot(request: ToolSnapshotRequest): Promise<unknown> {
    const found = await this.find(request.tool);
    return found?.invoker.snapshot(request);
  }
}
