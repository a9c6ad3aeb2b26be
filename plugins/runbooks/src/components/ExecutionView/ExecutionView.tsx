import {
  MarkdownContent,
  ResponseErrorPanel,
} from '@backstage/core-components';
import { identityApiRef, useApi } from '@backstage/core-plugin-api';
import { EntityRefLink } from '@backstage/plugin-catalog-react';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Dialog from '@material-ui/core/Dialog';
import DialogActions from '@material-ui/core/DialogActions';
import DialogContent from '@material-ui/core/DialogContent';
import DialogTitle from '@material-ui/core/DialogTitle';
import TextField from '@material-ui/core/TextField';
import Typography from '@material-ui/core/Typography';
import {
  ApprovalGateResponse,
  ApprovalResponse,
  ExecutionDetailsResponse,
  ExecutionResponse,
  FOUR_EYES_MESSAGE,
  StepRunResponse,
} from '@runbooks/plugin-runbooks-common';
import { useEffect, useState } from 'react';
import useAsync from 'react-use/esm/useAsync';
import { runbooksApiRef } from '../../api';
import { DiffView } from '../common/DiffView';
import { errorMessage } from '../common/errorMessage';
import { Json, ProvenanceBadge, Radius } from '../common/ExecutionParts';
import {
  FINAL_STATUSES,
  formatDuration,
  formatTime,
  shortRef,
} from '../common/format';
import { StatusChip } from '../common/StatusChip';
import { LiveState, useLiveExecution } from './useLiveExecution';

const LIVE_TEXT: Record<LiveState, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Connection lost: reconnecting…',
  ended: '',
};

/** Who decided on a step, when, on which plan. */
function Decisions(props: { approvals: ApprovalResponse[] }) {
  if (props.approvals.length === 0) return null;
  return (
    <Box my={0.5} data-testid="decisions">
      {props.approvals.map(a => (
        <Typography
          variant="body2"
          key={`${a.decidedBy}:${a.createdAt}:${a.attempt}`}
        >
          {a.decision === 'approved' ? 'Approved' : 'Rejected'} by{' '}
          <strong>{shortRef(a.decidedBy)}</strong>
          {a.ownerOf ? ` (for ${shortRef(a.ownerOf)})` : ''} at{' '}
          {formatTime(a.createdAt)} · plan {a.planDigest.slice(0, 19)}
          {a.comment ? `: “${a.comment}”` : ''}
        </Typography>
      ))}
    </Box>
  );
}

/**
 * The approval gate a step waits at: what is missing, who is on call, and approve / reject with a
 * comment for those who may; the four-eyes rule said in words to the requester.
 */
export function GatePanel(props: {
  execution: ExecutionResponse;
  gate: ApprovalGateResponse;
  viewer?: string;
  onDecide: (
    decision: 'approved' | 'rejected',
    comment?: string,
  ) => Promise<void>;
}) {
  const { execution, gate, onDecide } = props;
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState(false);
  const decide = async (decision: 'approved' | 'rejected') => {
    setBusy(true);
    try {
      await onDecide(decision, comment.trim() || undefined);
      setComment('');
    } finally {
      setBusy(false);
    }
  };
  const what = `step ${gate.stepIndex + 1} '${gate.stepId}' of ${shortRef(
    execution.runbookRef,
  )} on ${shortRef(execution.entityRef)}`;
  return (
    <Box data-testid={`gate-${gate.stepId}`} my={1}>
      <Typography variant="body2">
        Waits for {gate.required} approval{gate.required === 1 ? '' : 's'} of
        plan {gate.planDigest.slice(0, 19)} by a person other than{' '}
        {shortRef(execution.requester)}
        {gate.ownerApprovalFrom.length > 0 &&
          `, one of them from ${gate.ownerApprovalFrom
            .map(shortRef)
            .join(' or ')}`}
        .
      </Typography>
      <Typography variant="body2" color="textSecondary">
        Approve before {formatTime(gate.expiresAt)}; after that the step is
        planned afresh and asks again.
      </Typography>
      {gate.approvals.length > 0 && (
        <Typography variant="body2">
          Approved so far by{' '}
          {gate.approvals
            .map(a => `${shortRef(a.decidedBy)} (${formatTime(a.createdAt)})`)
            .join(', ')}
          ; still missing: {gate.missing.join('; ')}.
        </Typography>
      )}
      {gate.onCall && gate.onCall.length > 0 && (
        <Typography variant="body2" data-testid="on-call">
          On call:{' '}
          {gate.onCall
            .map(
              l =>
                `level ${l.level}: ${
                  l.users.map(shortRef).join(', ') || 'nobody'
                }`,
            )
            .join(' · ')}
        </Typography>
      )}
      {gate.canApprove ? (
        <Box display="flex" flexWrap="wrap" alignItems="center" mt={1}>
          <TextField
            size="small"
            variant="outlined"
            label="Comment (optional)"
            value={comment}
            onChange={e => setComment(e.target.value)}
            inputProps={{ 'aria-label': 'Comment', maxLength: 2000 }}
            style={{ minWidth: 220, marginRight: 8, marginBottom: 8 }}
          />
          <Button
            size="small"
            color="primary"
            variant="contained"
            disabled={busy}
            aria-label={`Approve the plan of ${what}`}
            onClick={() => decide('approved')}
            style={{ marginRight: 8, marginBottom: 8 }}
          >
            Approve this plan
          </Button>
          <Button
            size="small"
            variant="outlined"
            disabled={busy}
            aria-label={`Reject the plan of ${what}`}
            onClick={() => decide('rejected')}
            style={{ marginBottom: 8 }}
          >
            Reject
          </Button>
        </Box>
      ) : (
        <Typography variant="body2" color="textSecondary" role="note">
          {gate.cannotApprove ??
            (execution.requester === props.viewer
              ? FOUR_EYES_MESSAGE
              : 'You may not approve this execution.')}
        </Typography>
      )}
    </Box>
  );
}

/** One step on the timeline: status, times, input, plan diff, state diff, output, radius, decisions. */
function StepCard(props: {
  step: StepRunResponse;
  details: ExecutionDetailsResponse;
  viewer?: string;
  onDecide: (
    step: StepRunResponse,
    decision: 'approved' | 'rejected',
    comment?: string,
  ) => Promise<void>;
}) {
  const { step, details, onDecide } = props;
  const { execution, gate } = details;
  const waiting =
    execution.status === 'waiting-approval' &&
    execution.currentStep === step.stepIndex &&
    step.status === 'waiting-approval' &&
    gate?.stepIndex === step.stepIndex;
  const took =
    step.startedAt && step.finishedAt
      ? formatDuration(
          new Date(step.finishedAt).getTime() -
            new Date(step.startedAt).getTime(),
        )
      : undefined;
  return (
    <Box
      component="li"
      mb={1.5}
      data-testid={`step-${step.stepId}`}
      style={{ listStyle: 'none' }}
    >
      <Box display="flex" alignItems="center" flexWrap="wrap">
        <Typography variant="body2" component="span" style={{ marginRight: 8 }}>
          {step.stepIndex + 1}. <strong>{step.stepId}</strong>
        </Typography>
        <StatusChip status={step.status} testId="step-status" />
        <Typography
          variant="caption"
          color="textSecondary"
          component="span"
          style={{ marginLeft: 8 }}
        >
          {step.phase ? `${step.phase} · ` : ''}
          {step.attempt > 1 ? `attempt ${step.attempt} · ` : ''}
          {step.startedAt ? `started ${formatTime(step.startedAt)}` : ''}
          {took ? ` · took ${took}` : ''}
        </Typography>
      </Box>
      {step.error && (
        <Typography
          variant="body2"
          color={step.status === 'skipped' ? 'textSecondary' : 'error'}
        >
          {step.error}
        </Typography>
      )}
      <Json label="input (rendered)" value={step.input} />
      {step.plan && (
        <Typography variant="caption" component="div">
          Plan: {step.plan.objectCount ?? 0} object(s)
          {step.planDigest ? `, ${step.planDigest.slice(0, 19)}` : ''}
        </Typography>
      )}
      {step.plan?.diff && (
        <DiffView diff={step.plan.diff} testId={`plan-diff-${step.stepId}`} />
      )}
      <Json label="state diff (before → after)" value={step.diff} />
      <Json label="output" value={step.output} />
      {step.blastRadius && <Radius radius={step.blastRadius} />}
      <Decisions
        approvals={details.approvals.filter(
          a => a.stepIndex === step.stepIndex,
        )}
      />
      {waiting && gate && (
        <GatePanel
          execution={execution}
          gate={gate}
          viewer={props.viewer}
          onDecide={(decision, comment) => onDecide(step, decision, comment)}
        />
      )}
    </Box>
  );
}

const ACTION_TEXT = {
  cancel: {
    label: 'Cancel execution',
    confirm:
      'Cancel this execution? A step that is applying finishes first; nothing after it runs.',
  },
  resume: {
    label: 'Resume (retry the step)',
    confirm: 'Retry the step that needs attention, planning it afresh?',
  },
  skip: {
    label: 'Skip the step',
    confirm: 'Skip the step that needs attention and go on with the next one?',
  },
  abort: {
    label: 'Abort',
    confirm: 'End this execution here? Nothing after the current step runs.',
  },
} as const;

type Action = keyof typeof ACTION_TEXT;

/** The summary of an ended execution, as markdown. */
function Summary(props: { id: string }) {
  const api = useApi(runbooksApiRef);
  const { value, error } = useAsync(
    () => api.getExecutionSummary(props.id),
    [api, props.id],
  );
  if (error) {
    return (
      <Typography variant="body2" color="textSecondary">
        No summary: {errorMessage(error)}
      </Typography>
    );
  }
  if (!value) return null;
  return (
    <Box data-testid="summary" my={1}>
      <Typography variant="subtitle2">
        Summary{' '}
        <Typography variant="caption" color="textSecondary" component="span">
          {value.by === 'model'
            ? `(written by ${
                value.usage?.model ?? 'the model'
              } from the redacted record)`
            : '(from the record)'}
        </Typography>
      </Typography>
      <MarkdownContent content={value.text} />
    </Box>
  );
}

/**
 * One execution, live: header, provenance badge, the buttons the viewer may use, the step timeline
 * with plans, diffs, blast radius and decisions, the event log, and the summary once it has ended.
 * @public
 */
export function ExecutionView(props: {
  id: string;
  /** Called after the viewer changed the execution (a decision, a cancel). */
  onChange?: () => void;
  /** Show the header (runbook, entity, requester): the page does, the tab's inline view need not. */
  showHeader?: boolean;
  /** Called with the execution each time it is loaded. */
  onLoaded?: (execution: ExecutionResponse) => void;
}) {
  const api = useApi(runbooksApiRef);
  const identity = useApi(identityApiRef);
  const [viewer, setViewer] = useState<string>();
  useEffect(() => {
    identity.getBackstageIdentity().then(i => setViewer(i.userEntityRef));
  }, [identity]);
  const { details, events, error, live, reload, setError } = useLiveExecution(
    props.id,
  );
  const [confirm, setConfirm] = useState<Action>();
  const { onLoaded } = props;
  const loaded = details?.execution;
  useEffect(() => {
    if (loaded) onLoaded?.(loaded);
  }, [loaded, onLoaded]);
  const [actionError, setActionError] = useState<Error>();

  if (!details) {
    return error ? (
      <ResponseErrorPanel error={error} />
    ) : (
      <Typography variant="body2">Loading…</Typography>
    );
  }
  const { execution } = details;
  const changed = async () => {
    props.onChange?.();
    await reload();
  };
  const onDecide = async (
    step: StepRunResponse,
    decision: 'approved' | 'rejected',
    comment?: string,
  ) => {
    try {
      await api.decide(execution.id, step.stepIndex, {
        decision,
        planDigest: step.planDigest!,
        comment,
      });
      setActionError(undefined);
      await changed();
    } catch (e) {
      setActionError(e as Error);
    }
  };
  const run = async (action: Action) => {
    setConfirm(undefined);
    try {
      if (action === 'cancel') await api.cancel(execution.id);
      else await api.resolveAttention(execution.id, action);
      setActionError(undefined);
      await changed();
    } catch (e) {
      setActionError(e as Error);
    }
  };
  const onDownload = async () => {
    try {
      const text = await api.getBundles(execution.id);
      const url = URL.createObjectURL(
        new Blob([text], { type: 'application/x-ndjson' }),
      );
      const a = document.createElement('a');
      a.href = url;
      a.download = `execution-${execution.id}.jsonl`;
      document.body.appendChild(a);
      a.click();
      a.remove();
      // some browsers read the blob after click() returns
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (e) {
      setError(e as Error);
    }
  };
  const allowed = (Object.keys(ACTION_TEXT) as Action[]).filter(
    a => details.actions?.[a],
  );
  const ended = FINAL_STATUSES.includes(execution.status);
  return (
    <Box data-testid={`view-${execution.id}`}>
      {props.showHeader && (
        <Box mb={1}>
          <Typography variant="h6" component="h2">
            {shortRef(execution.runbookRef)} on{' '}
            <EntityRefLink
              entityRef={execution.entityRef}
              defaultKind="component"
            />
          </Typography>
          <Typography variant="body2" color="textSecondary">
            {execution.mode} · requested by {shortRef(execution.requester)} at{' '}
            {formatTime(execution.createdAt)}
            {execution.finishedAt &&
              ` · finished ${formatTime(
                execution.finishedAt,
              )} (${formatDuration(
                new Date(execution.finishedAt).getTime() -
                  new Date(execution.createdAt).getTime(),
              )})`}
          </Typography>
        </Box>
      )}
      <Box display="flex" alignItems="center" flexWrap="wrap" mb={1}>
        <StatusChip status={execution.status} testId="view-status" />
        <Typography
          variant="caption"
          role="status"
          aria-live="polite"
          style={{ marginLeft: 8 }}
          data-testid="live-state"
        >
          {LIVE_TEXT[live]}
        </Typography>
      </Box>
      <ProvenanceBadge
        executionId={execution.id}
        provenance={details.provenance}
        onDownload={onDownload}
      />
      {execution.statusMessage && (
        <Typography variant="body2" gutterBottom>
          {execution.statusMessage}
        </Typography>
      )}
      {allowed.length > 0 && (
        <Box display="flex" flexWrap="wrap" mb={1}>
          {allowed.map(a => (
            <Button
              key={a}
              size="small"
              variant="outlined"
              color={a === 'resume' ? 'primary' : 'default'}
              onClick={() => setConfirm(a)}
              style={{ marginRight: 8, marginBottom: 4 }}
            >
              {ACTION_TEXT[a].label}
            </Button>
          ))}
        </Box>
      )}
      {(actionError || error) && (
        <Typography color="error" variant="body2" role="alert">
          {errorMessage(actionError ?? error)}
        </Typography>
      )}
      <Box component="ol" pl={0} m={0} aria-label="Step timeline">
        {details.steps.map(step => (
          <StepCard
            key={`${step.stepIndex}:${step.attempt}:${step.planDigest ?? ''}`}
            step={step}
            details={details}
            viewer={viewer}
            onDecide={onDecide}
          />
        ))}
      </Box>
      <details>
        <summary>
          <Typography variant="caption">
            Event log ({events.length} events)
          </Typography>
        </summary>
        <Box component="ol" m={0} pl={2} data-testid="event-log">
          {events.map(e => (
            <li key={e.seq}>
              <Typography variant="caption">
                {formatTime(e.createdAt)} · {e.type}
                {typeof e.payload?.step === 'number'
                  ? ` · step ${Number(e.payload.step) + 1}`
                  : ''}
                {typeof e.payload?.by === 'string'
                  ? ` · by ${shortRef(e.payload.by)}`
                  : ''}
              </Typography>
            </li>
          ))}
        </Box>
      </details>
      {ended && <Summary id={execution.id} />}
      <Dialog
        open={!!confirm}
        onClose={() => setConfirm(undefined)}
        aria-labelledby="execution-action-title"
      >
        <DialogTitle id="execution-action-title">
          {confirm && ACTION_TEXT[confirm].label}
        </DialogTitle>
        <DialogContent>
          <Typography variant="body2">
            {confirm && ACTION_TEXT[confirm].confirm}
          </Typography>
        </DialogContent>
        <DialogActions>
          <Button onClick={() => setConfirm(undefined)}>Back</Button>
          <Button
            color="primary"
            variant="contained"
            onClick={() => confirm && run(confirm)}
          >
            {confirm && ACTION_TEXT[confirm].label}
          </Button>
        </DialogActions>
      </Dialog>
    </Box>
  );
}
