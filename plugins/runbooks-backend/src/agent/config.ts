import { RootConfigService } from '@backstage/backend-plugin-api';
import { AgentSettings } from './AgentService';
import { AnthropicSettings } from './AnthropicPlanner';

/** A current Claude Sonnet (the SDK 1.14 marks claude-sonnet-4-5 deprecated); `runbooks.agent.anthropic.model` overrides it. */
export const DEFAULT_MODEL = 'claude-sonnet-5-5';

/** Alert labels that name the entity through one of its annotations, by default. */
export const DEFAULT_LABEL_ANNOTATIONS: Record<string, string> = {
  deployment: 'backstage.io/kubernetes-id',
  app: 'backstage.io/kubernetes-id',
  namespace: 'backstage.io/kubernetes-namespace',
  queue: 'runbooks.backstage.io/dead-letter-queue',
};

/** Everything `runbooks.agent` configures. */
export interface AgentConfig {
  /** The planner's id; undefined picks `anthropic` with an API key and `offline` without. */
  planner?: string;
  anthropic?: AnthropicSettings;
  settings: AgentSettings;
  intake: {
    /** A label whose value is an entity ref (`component:default/checkout`). */
    entityLabel: string;
    /** Alert label → entity annotation whose value it must equal. */
    labelAnnotations: Record<string, string>;
  };
}

/** Reads `runbooks.agent`. */
export function readAgentConfig(config: RootConfigService): AgentConfig {
  const agent = config.getOptionalConfig('runbooks.agent');
  const anthropic = agent?.getOptionalConfig('anthropic');
  const apiKey = anthropic?.getOptionalString('apiKey');
  const mode = agent?.getOptionalString('mode') ?? 'suggest';
  if (mode !== 'suggest' && mode !== 'dry-run') {
    throw new Error(
      `runbooks.agent.mode must be 'suggest' or 'dry-run', not '${mode}'`,
    );
  }
  const labels = agent?.getOptionalConfig('intake.labelAnnotations');
  return {
    planner: agent?.getOptionalString('planner'),
    anthropic: apiKey
      ? {
          apiKey,
          baseUrl: anthropic?.getOptionalString('baseUrl'),
          model: anthropic?.getOptionalString('model') ?? DEFAULT_MODEL,
          maxTokens: anthropic?.getOptionalNumber('maxTokens') ?? 1024,
          timeoutMs: anthropic?.getOptionalNumber('timeoutMs') ?? 30_000,
          maxRetries: anthropic?.getOptionalNumber('maxRetries') ?? 2,
          untrustedTokenBudget:
            anthropic?.getOptionalNumber('untrustedTokenBudget') ?? 2000,
        }
      : undefined,
    settings: {
      mode,
      maxProposals: agent?.getOptionalNumber('maxProposals') ?? 1,
      historyLimit: agent?.getOptionalNumber('historyLimit') ?? 20,
      planTimeoutMs: agent?.getOptionalNumber('planTimeoutMs') ?? 60_000,
    },
    intake: {
      entityLabel:
        agent?.getOptionalString('intake.entityLabel') ?? 'backstage_entity',
      labelAnnotations: labels
        ? Object.fromEntries(labels.keys().map(k => [k, labels.getString(k)]))
        : DEFAULT_LABEL_ANNOTATIONS,
    },
  };
}
