// Agent benchmark: model calls and tokens per incident for the agent (one call to choose, one to
// summarise) against a baseline loop that feeds every tool result back to the model (built here,
// in the benchmark only). Both talk to the same local stand-in of the Messages API through the real
// SDK, which counts tokens with one formula (ceil(UTF-8 bytes / 4) of system + messages + tools);
// the tool results the baseline feeds back are the real outputs of the same dry-runs, run by the
// project's kubectl MCP server against the demo cluster. Prints a table and writes
// test/artifacts/bench-agent.json. Not a test: figures, no pass/fail.
import Anthropic from '@anthropic-ai/sdk';
import { Entity } from '@backstage/catalog-model';
import { mockCredentials } from '@backstage/backend-test-utils';
import { McpToolPool } from '@runbooks/plugin-runbooks-node';
import knexFactory from 'knex';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import {
  AnthropicStandIn,
  RecordedRequest,
} from '../../plugins/runbooks-backend/src/__testUtils__/anthropic';
import {
  authorization,
  ENDED,
  startRunbooksTestBackend,
  waitForStatus,
} from '../../plugins/runbooks-backend/src/__testUtils__/backend';
import { newSigningKey } from '../../plugins/runbooks-backend/src/__testUtils__/fixtures';
import { bin, demoEntities, libraryRunbooks } from '../tools/harness';

const root = path.resolve(__dirname, '../..');
const artifacts = path.join(root, 'test/artifacts');
const MODEL = 'claude-sonnet-5-5';

/** The fixed incidents: an alert with the log lines an on-call engineer would paste. */
const logs = (service: string) =>
  Array.from(
    { length: 40 },
    (_, i) =>
      `2026-11-25T03:${String(10 + (i % 50)).padStart(2, '0')}:0${i % 10}Z ${
        i % 7 === 0 ? 'ERROR' : 'INFO'
      } ${service}-7d9f8-x2x4q request_id=${(i * 7919).toString(16)} ${
        i % 7 === 0
          ? 'upstream timed out after 30000ms (pool exhausted: 64/64 in use)'
          : 'GET /api/v1/health 200 2ms'
      }`,
  ).join('\n');

const INCIDENTS = [
  {
    entity: 'checkout',
    alert: 'KubeDeploymentReplicasMismatch',
    runbook: 'restart-deployment',
    input: {},
  },
  {
    entity: 'payments',
    alert: 'KubeDeploymentReplicasMismatch',
    runbook: 'restart-deployment',
    input: {},
  },
  {
    entity: 'storefront',
    alert: 'ContainerMemoryNearLimit',
    runbook: 'restart-deployment',
    input: {},
  },
  {
    entity: 'inventory',
    alert: 'HighLatency',
    runbook: 'scale-deployment',
    input: { replicas: 6 },
  },
  {
    entity: 'payments',
    alert: 'HighErrorRate',
    runbook: 'rollback-deployment',
    input: { reason: '5xx at 12% since the 14:02 release' },
  },
  {
    entity: 'order-worker',
    alert: 'HighErrorRate',
    runbook: 'rollback-deployment',
    input: { reason: 'consumer crashes since the last deploy' },
  },
];

const tokens = (r: RecordedRequest) => {
  const usage = (r.reply as Anthropic.Message | undefined)?.usage;
  return { input: usage?.input_tokens ?? 0, output: usage?.output_tokens ?? 0 };
};

async function main() {
  const standIn = await AnthropicStandIn.start({ script: [] });
  const runbooks = [...(await libraryRunbooks()).values()].map(
    r =>
      ({
        ...r,
        metadata: { ...r.metadata, namespace: 'default' },
      } as unknown as Entity),
  );
  const knex = knexFactory({
    client: 'better-sqlite3',
    connection: ':memory:',
    useNullAsDefault: true,
  });
  const { backend, server } = await startRunbooksTestBackend({
    knex,
    entities: [...demoEntities().values(), ...runbooks],
    tools: {},
    engine: { pollIntervalMs: 20 },
    config: {
      provenance: { signingKey: newSigningKey().privatePem },
      tools: {
        servers: [
          {
            name: 'kubernetes',
            command: process.execPath,
            args: [bin('kubernetes'), '--demo-cluster'],
          },
        ],
      },
      agent: {
        anthropic: {
          apiKey: standIn.apiKey,
          baseUrl: standIn.url,
          model: MODEL,
          maxRetries: 0,
        },
      },
    },
  });
  // the reads a tool-using agent makes before it decides, served by a second kubectl MCP server
  const reads = new McpToolPool(
    [
      {
        name: 'kubernetes',
        transport: 'stdio',
        command: process.execPath,
        args: [bin('kubernetes'), '--demo-cluster'],
        env: {},
      },
    ],
    {
      startTimeoutMs: 60_000,
      healthCheckIntervalMs: 600_000,
      maxOutputBytes: 256 * 1024,
    },
    {
      debug: () => {},
      info: () => {},
      warn: () => {},
      error: () => {},
      child() {
        return this;
      },
    } as any,
  );
  const read = async (tool: string, input: Record<string, unknown>) =>
    (
      await reads.invoke({
        tool: `kubernetes/${tool}`,
        input,
        dryRun: false,
        idempotencyKey: 'bench',
        signal: new AbortController().signal,
        timeoutMs: 60_000,
      })
    ).output;
  const client = new Anthropic({
    apiKey: standIn.apiKey,
    baseURL: standIn.url,
    maxRetries: 0,
  });
  const rows: Array<Record<string, number | string>> = [];
  try {
    for (const incident of INCIDENTS) {
      // --- the agent: one call to choose, one to summarise ---------------------------------------
      const first = standIn.requests.length;
      standIn.setScript([
        {
          content: [
            {
              type: 'text',
              text: `The alert and the logs point at ${incident.runbook}.`,
            },
            { type: 'tool_use', name: incident.runbook, input: incident.input },
          ],
        },
        {
          content: [
            {
              type: 'text',
              text: `Dry-run of ${incident.runbook} on ${incident.entity}: planned, nothing changed.`,
            },
          ],
        },
      ]);
      const planned = await request(server)
        .post('/api/runbooks/incidents')
        .set('Authorization', mockCredentials.service.header())
        .send({
          entityRef: `component:default/${incident.entity}`,
          alertName: incident.alert,
          text: `${incident.alert} for ${incident.entity} in shop`,
          labels: {
            alertname: incident.alert,
            deployment: incident.entity,
            namespace: 'shop',
          },
          logs: [logs(incident.entity)],
        });
      const proposal = planned.body.proposals?.[0];
      if (proposal?.status !== 'pending') {
        throw new Error(
          `no proposal for ${incident.entity}: ${JSON.stringify(planned.body)}`,
        );
      }
      const started = await request(server)
        .post(`/api/runbooks/proposals/${proposal.id}/start`)
        .set('Authorization', authorization('alice'))
        .send({ mode: 'dry-run' });
      const details = await waitForStatus(server, started.body.id, ENDED, {
        timeoutMs: 120_000,
      });
      await request(server)
        .get(`/api/runbooks/executions/${started.body.id}/summary`)
        .set('Authorization', authorization('alice'));
      const ours = standIn.requests.slice(first);
      const planRequest = ours[0]
        .body as Anthropic.MessageCreateParamsNonStreaming;

      // --- the baselines: every tool result goes back to the model --------------------------------
      // "run": the model chooses the runbook, then calls each of its steps and reads each result;
      // "investigate + run": first it reads the deployment and its pods, as a tool-using agent does
      const steps = details.steps as Array<{
        stepId: string;
        input: unknown;
        output: unknown;
        plan: unknown;
        error?: string;
      }>;
      const investigation = [
        {
          name: 'kubernetes_get_deployment',
          input: { namespace: 'shop', name: incident.entity },
          result: await read('get-deployment', {
            namespace: 'shop',
            name: incident.entity,
          }),
        },
        {
          name: 'kubernetes_list_pods',
          input: { namespace: 'shop', labelSelector: `app=${incident.entity}` },
          result: await read('list-pods', {
            namespace: 'shop',
            labelSelector: `app=${incident.entity}`,
          }),
        },
      ];
      const loop = async (investigate: boolean) => {
        const stepTools: Anthropic.Tool[] = [
          ...(investigate ? investigation.map(r => r.name) : []),
          ...steps.map(s => `step_${s.stepId}`.replace(/[^a-zA-Z0-9_-]/g, '_')),
        ].map(name => ({
          name,
          description: `Calls ${name}`,
          input_schema: { type: 'object' as const, additionalProperties: true },
        }));
        const calls = [
          ...(investigate
            ? investigation.map(r => ({
                name: r.name,
                input: r.input,
                result: r.result,
              }))
            : []),
          {
            name: incident.runbook,
            input: incident.input,
            result: {
              accepted: true,
              runbook: incident.runbook,
              steps: steps.map(s => s.stepId),
            },
          },
          ...steps.map(s => ({
            name: `step_${s.stepId}`.replace(/[^a-zA-Z0-9_-]/g, '_'),
            input: s.input ?? {},
            result: { output: s.output, plan: s.plan, error: s.error },
          })),
        ];
        standIn.setScript([
          ...calls.map(c => ({
            content: [
              { type: 'tool_use' as const, name: c.name, input: c.input },
            ],
          })),
          {
            content: [
              {
                type: 'text' as const,
                text: `Ran ${incident.runbook} on ${incident.entity}; see the step results above.`,
              },
            ],
          },
        ]);
        const from = standIn.requests.length;
        const messages: Anthropic.MessageParam[] = [...planRequest.messages];
        for (let turn = 0; turn <= calls.length; turn++) {
          const reply = await client.messages.create({
            model: MODEL,
            max_tokens: 1024,
            system: planRequest.system,
            tools: [...(planRequest.tools ?? []), ...stepTools],
            messages,
          });
          messages.push({ role: 'assistant', content: reply.content });
          const call = reply.content.find(b => b.type === 'tool_use') as
            | Anthropic.ToolUseBlock
            | undefined;
          if (!call) break;
          messages.push({
            role: 'user',
            content: [
              {
                type: 'tool_result',
                tool_use_id: call.id,
                content: JSON.stringify(calls[turn].result),
              },
            ],
          });
        }
        return standIn.requests.slice(from);
      };
      const baseline = await loop(false);
      const investigating = await loop(true);
      const sum = (rs: RecordedRequest[]) =>
        rs.reduce((t, r) => t + tokens(r).input + tokens(r).output, 0);
      rows.push({
        incident: `${incident.alert} on ${incident.entity} → ${incident.runbook}`,
        steps: steps.length,
        agentCalls: ours.length,
        agentTokens: sum(ours),
        runCalls: baseline.length,
        runTokens: sum(baseline),
        runRatio: Math.round((sum(baseline) / sum(ours)) * 10) / 10,
        investigateCalls: investigating.length,
        investigateTokens: sum(investigating),
        investigateRatio:
          Math.round((sum(investigating) / sum(ours)) * 10) / 10,
      });
    }
  } finally {
    await backend.stop();
    await standIn.close();
    await knex.destroy();
    await reads.close();
  }
  const total = (key: string) => rows.reduce((t, r) => t + Number(r[key]), 0);
  const ratio = (key: string) =>
    Math.round((total(key) / total('agentTokens')) * 10) / 10;
  const overall = {
    run: ratio('runTokens'),
    investigate: ratio('investigateTokens'),
  };
  console.log(
    '\nAgent: model calls and tokens per incident (same stand-in, same token formula, same tool results)',
  );
  console.table(rows);
  console.log(
    `total: agent ${total('agentCalls')} calls / ${total(
      'agentTokens',
    )} tokens; loop that runs the steps ${total('runCalls')} calls / ${total(
      'runTokens',
    )} tokens (${overall.run}×); loop that investigates then runs ${total(
      'investigateCalls',
    )} calls / ${total('investigateTokens')} tokens (${
      overall.investigate
    }×); target ≥ 5× fewer tokens for the agent`,
  );
  mkdirSync(artifacts, { recursive: true });
  writeFileSync(
    path.join(artifacts, 'bench-agent.json'),
    JSON.stringify({ model: MODEL, rows, overall }, null, 2),
  );
}

main().catch(e => {
  console.error(e);
  process.exit(1);
});
