import {
  CompoundEntityRef,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import {
  InfoCard,
  Progress,
  ResponseErrorPanel,
  WarningPanel,
} from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import { EntityRefLink } from '@backstage/plugin-catalog-react';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Chip from '@material-ui/core/Chip';
import TextField from '@material-ui/core/TextField';
import Typography from '@material-ui/core/Typography';
import {
  EntityRunbook,
  IncidentResponse,
  ProposalResponse,
  ProposalStatus,
} from '@runbooks/plugin-runbooks-common';
import { FormEvent, useState } from 'react';
import useAsyncRetry from 'react-use/esm/useAsyncRetry';
import { runbooksApiRef } from '../../api';
import { ParametersList } from '../EntityRunbooksContent/ParametersList';

const MIN_TEXT = 3;
const MAX_TEXT = 20_000;

const STATUS_COLOR: Record<
  ProposalStatus,
  'primary' | 'secondary' | 'default'
> = {
  pending: 'primary',
  started: 'default',
  dismissed: 'default',
  refused: 'secondary',
};

const short = (ref: string) => ref.replace(/^[a-z]+:default\//, '');

/** The proposed values, typed by the runbook when the tab knows it. */
function ProposedParameters(props: {
  proposal: ProposalResponse;
  runbook?: EntityRunbook;
}) {
  const { proposal, runbook } = props;
  if (runbook) {
    return <ParametersList runbook={runbook} values={proposal.parameters} />;
  }
  const names = Object.keys(proposal.parameters);
  if (names.length === 0) {
    return <Typography variant="body2">none</Typography>;
  }
  return (
    <div>
      {names.map(name => (
        <Chip
          key={name}
          size="small"
          label={`${name} = ${JSON.stringify(proposal.parameters[name])}`}
          style={{ margin: 2 }}
        />
      ))}
    </div>
  );
}

function Proposal(props: {
  proposal: ProposalResponse;
  runbook?: EntityRunbook;
  canExecute: boolean;
  busy: boolean;
  onStart: (proposal: ProposalResponse) => void;
  onDismiss: (proposal: ProposalResponse) => void;
}) {
  const { proposal, runbook, canExecute, busy } = props;
  return (
    <Box
      mb={2}
      pb={1}
      borderBottom={1}
      borderColor="divider"
      data-testid={`proposal-${proposal.id}`}
    >
      <Box display="flex" alignItems="center" flexWrap="wrap">
        <Typography variant="subtitle2" component="span">
          {proposal.runbookTitle ??
            runbook?.title ??
            short(proposal.runbookRef)}
        </Typography>
        <Box mx={1}>
          <EntityRefLink entityRef={proposal.runbookRef} />
        </Box>
        <Chip
          size="small"
          color={STATUS_COLOR[proposal.status]}
          label={proposal.status}
          data-testid="proposal-status"
        />
      </Box>
      <Typography variant="caption" color="textSecondary">
        From {short(proposal.createdBy)} ·{' '}
        {new Date(proposal.createdAt).toLocaleString()}
        {proposal.decidedBy ? ` · decided by ${short(proposal.decidedBy)}` : ''}
      </Typography>
      <ProposedParameters proposal={proposal} runbook={runbook} />
      <Box
        component="section"
        aria-label="Agent's rationale"
        my={1}
        pl={1}
        borderLeft={3}
        borderColor="divider"
      >
        <Typography variant="caption" color="textSecondary" component="div">
          Agent's rationale ({proposal.planner})
        </Typography>
        {/* model output: shown as text, never as markup */}
        <Typography variant="body2" style={{ whiteSpace: 'pre-wrap' }}>
          {proposal.rationale}
        </Typography>
      </Box>
      {proposal.status === 'refused' && (
        <Typography variant="body2" color="error">
          Refused: {proposal.refusal ?? 'validation failed'}
        </Typography>
      )}
      {proposal.status === 'started' && proposal.executionId && (
        <Typography
          variant="body2"
          data-testid={`proposal-execution-${proposal.id}`}
        >
          Started as execution <code>{proposal.executionId}</code>, listed under
          Recent executions.
        </Typography>
      )}
      {proposal.status === 'pending' && canExecute && (
        <Box mt={1}>
          <Button
            size="small"
            variant="contained"
            color="primary"
            disabled={busy}
            onClick={() => props.onStart(proposal)}
          >
            Start dry-run
          </Button>{' '}
          <Button
            size="small"
            variant="outlined"
            disabled={busy}
            onClick={() => props.onDismiss(proposal)}
          >
            Dismiss
          </Button>
        </Box>
      )}
    </Box>
  );
}

/**
 * Ask the agent which of the entity's runbooks answer an incident, and act on its proposals (and
 * on those it made from alerts): start one as a dry-run or dismiss it. Nothing starts by itself.
 * @public
 */
export function AgentProposals(props: {
  entity: CompoundEntityRef;
  /** The runbooks that apply to the entity, to type the proposed parameters. */
  runbooks: EntityRunbook[];
  /** Whether the caller may start runbooks on the entity. */
  canExecute: boolean;
  /** Called with the execution a proposal became. */
  onStarted?: (executionId: string) => void;
}) {
  const { entity, runbooks, canExecute, onStarted } = props;
  const api = useApi(runbooksApiRef);
  const entityRef = stringifyEntityRef(entity);
  const [text, setText] = useState('');
  const [asking, setAsking] = useState(false);
  const [incident, setIncident] = useState<IncidentResponse>();
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState<string>();
  const pending = useAsyncRetry(
    () => api.listProposals(entityRef, ['pending']),
    [api, entityRef],
  );
  const runbookOf = (p: ProposalResponse) =>
    runbooks.find(r => r.ref === p.runbookRef);

  const replace = (updated: ProposalResponse) =>
    setIncident(
      current =>
        current && {
          ...current,
          proposals: current.proposals.map(p =>
            p.id === updated.id ? updated : p,
          ),
        },
    );

  const onAsk = async (event: FormEvent) => {
    event.preventDefault();
    setAsking(true);
    setError(undefined);
    try {
      const result = await api.ask(entity, { text: text.trim() });
      setIncident(result);
      const started = result.proposals.find(p => p.executionId);
      if (started?.executionId) onStarted?.(started.executionId);
    } catch (e) {
      setError(e as Error);
    } finally {
      setAsking(false);
      pending.retry();
    }
  };

  const act = async (
    proposal: ProposalResponse,
    action: () => Promise<ProposalResponse>,
  ) => {
    setBusy(proposal.id);
    setError(undefined);
    try {
      replace(await action());
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(undefined);
      pending.retry();
    }
  };

  const onStart = (proposal: ProposalResponse) =>
    act(proposal, async () => {
      const execution = await api.startProposal(proposal.id, 'dry-run');
      onStarted?.(execution.id);
      return { ...proposal, status: 'started', executionId: execution.id };
    });

  const onDismiss = (proposal: ProposalResponse) =>
    act(proposal, () => api.dismissProposal(proposal.id));

  const shown = new Set(incident?.proposals.map(p => p.id));
  const others = (pending.value?.items ?? []).filter(p => !shown.has(p.id));
  const trimmed = text.trim().length;

  const renderProposal = (p: ProposalResponse) => (
    <Proposal
      key={p.id}
      proposal={p}
      runbook={runbookOf(p)}
      canExecute={canExecute}
      busy={busy !== undefined}
      onStart={onStart}
      onDismiss={onDismiss}
    />
  );

  return (
    <InfoCard title="Ask the agent">
      <form onSubmit={onAsk}>
        <TextField
          id="runbooks-agent-question"
          label="Describe the incident or paste an alert"
          helperText="The agent proposes runbooks that apply to this entity; nothing runs until a person starts it."
          multiline
          minRows={3}
          fullWidth
          variant="outlined"
          value={text}
          inputProps={{ maxLength: MAX_TEXT }}
          onChange={e => setText(e.target.value)}
        />
        <Box mt={1} display="flex" alignItems="center">
          <Button
            type="submit"
            variant="contained"
            color="primary"
            disabled={asking || trimmed < MIN_TEXT}
          >
            Ask the agent
          </Button>
          {!canExecute && (
            <Box ml={2}>
              <Typography variant="body2" color="textSecondary">
                You may not start runbooks on this entity, so you cannot start
                or dismiss proposals.
              </Typography>
            </Box>
          )}
        </Box>
      </form>
      {asking && <Progress />}
      {error && (
        <Box mt={2}>
          <ResponseErrorPanel error={error} />
        </Box>
      )}
      {incident && (
        <Box mt={2} data-testid="agent-answer">
          <Typography variant="subtitle1" gutterBottom>
            {incident.title}
          </Typography>
          {incident.noAction && (
            <WarningPanel
              severity="info"
              title="The agent proposes no runbook"
              message={incident.noAction}
              defaultExpanded
            />
          )}
          {incident.proposals.map(renderProposal)}
        </Box>
      )}
      <Box mt={2}>
        <Typography variant="h6" component="h3" gutterBottom>
          Pending proposals
        </Typography>
        {pending.loading && !pending.value && <Progress />}
        {pending.error && <ResponseErrorPanel error={pending.error} />}
        {pending.value && others.length === 0 && (
          <Typography variant="body2">
            {incident ? 'No other pending proposals.' : 'No pending proposals.'}
          </Typography>
        )}
        {others.map(renderProposal)}
      </Box>
    </InfoCard>
  );
}
