import { InfoCard, Link, ResponseErrorPanel } from '@backstage/core-components';
import { identityApiRef, useApi } from '@backstage/core-plugin-api';
import { parseEntityRef } from '@backstage/catalog-model';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Chip from '@material-ui/core/Chip';
import Typography from '@material-ui/core/Typography';
import {
  ApprovalGateResponse,
  BlastRadius,
  ExecutionDetailsResponse,
  ExecutionResponse,
  ProvenanceBadgeResponse,
  StepRunResponse,
} from '@runbooks/plugin-runbooks-common';
import { useCallback, useEffect, useState } from 'react';
import { runbooksApiRef } from '../../api';

const FINAL = ['succeeded', 'failed', 'cancelled'];

const statusColor = (status: string) => {
  if (status === 'succeeded') return 'primary';
  if (status === 'failed' || status === 'needs-attention') return 'secondary';
  return 'default';
};

function Json(props: { value: unknown; label: string }) {
  if (props.value === undefined || props.value === null) return null;
  return (
    <details>
      <summary>
        <Typography variant="caption">{props.label}</Typography>
      </summary>
      <pre style={{ whiteSpace: 'pre-wrap', fontSize: 12 }}>
        {JSON.stringify(props.value, null, 2)}
      </pre>
    </details>
  );
}

const short = (ref: string) => ref.replace(/^[a-z]+:default\//, '');

/** How the execution's signed record verifies, and its bundles to download. */
function ProvenanceBadge(props: {
  executionId: string;
  provenance?: ProvenanceBadgeResponse;
  onDownload: () => void;
}) {
  const p = props.provenance;
  if (!p) return null;
  let label: string;
  if (p.status === 'verified') {
    label = `Signed record verified (${p.statements} statements)`;
  } else if (p.status === 'open') {
    label = `Signed so far (${p.statements} statements)`;
  } else if (p.status === 'unsigned') {
    label = 'No signed record';
  } else {
    const at = p.firstBroken;
    label = `Signed record broken at statement ${at?.position ?? '?'}${
      at?.stepId ? ` (step ${(at.stepIndex ?? 0) + 1} '${at.stepId}')` : ''
    }`;
  }
  return (
    <Box display="flex" alignItems="center" flexWrap="wrap" mb={1}>
      <Chip
        size="small"
        label={label}
        title={p.firstBroken?.problem}
        color={p.status === 'broken' ? 'secondary' : 'default'}
        data-testid={`provenance-${props.executionId}`}
      />
      {p.statements > 0 && (
        <Button size="small" onClick={props.onDownload}>
          Download signed record
        </Button>
      )}
    </Box>
  );
}

/** How far a step's change reaches, with the affected entities linked to their catalog pages. */
function Radius(props: { radius: BlastRadius }) {
  const { radius } = props;
  return (
    <Box data-testid="blast-radius" my={0.5}>
      <Typography variant="body2">
        Blast radius: <strong>{radius.level}</strong> ({radius.action}
        {radius.approvalsRequired > 0
          ? `, ${radius.approvalsRequired} approval${
              radius.approvalsRequired === 1 ? '' : 's'
            }`
          : ''}
        ) · {radius.measures.objects} object(s) · {radius.measures.hosts}{' '}
        host(s)
      </Typography>
      {radius.affected.length > 0 && (
        <Typography variant="body2" component="div">
          Affected:{' '}
          {radius.affected.map((a, i) => {
            const ref = parseEntityRef(a.entityRef);
            return (
              <span key={a.entityRef}>
                {i > 0 && ', '}
                <Link
                  to={`/catalog/${ref.namespace}/${ref.kind.toLocaleLowerCase(
                    'en-US',
                  )}/${ref.name}`}
                >
                  {ref.name}
                </Link>
                {a.owner ? ` (${short(a.owner)}` : ' ('}
                {a.lifecycle ? `, ${a.lifecycle}` : ''}
                {a.tier ? `, tier ${a.tier}` : ''})
              </span>
            );
          })}
        </Typography>
      )}
      <Typography variant="caption" color="textSecondary">
        {radius.reasons.join(' ')}
      </Typography>
    </Box>
  );
}

function Step(props: {
  step: StepRunResponse;
  execution: ExecutionResponse;
  gate?: ApprovalGateResponse;
  viewer?: string;
  onDecide: (
    step: StepRunResponse,
    decision: 'approved' | 'rejected',
  ) => Promise<void>;
}) {
  const { step, execution, gate, onDecide } = props;
  const waiting =
    execution.status === 'waiting-approval' &&
    execution.currentStep === step.stepIndex &&
    step.status === 'waiting-approval';
  return (
    <Box mb={1} data-testid={`step-${step.stepId}`}>
      <Typography variant="body2">
        {step.stepIndex + 1}. <strong>{step.stepId}</strong>{' '}
        <Chip size="small" label={step.status} />
        {step.plan && (
          <Typography variant="caption" component="span">
            {' '}
            plan: {step.plan.objectCount ?? 0} object(s), {step.planDigest}
          </Typography>
        )}
      </Typography>
      {step.error && (
        <Typography
          variant="body2"
          color={step.status === 'skipped' ? 'textSecondary' : 'error'}
        >
          {step.error}
        </Typography>
      )}
      {step.plan?.diff && (
        <pre
          data-testid={`plan-diff-${step.stepId}`}
          style={{
            whiteSpace: 'pre-wrap',
            fontSize: 12,
            maxHeight: 300,
            overflow: 'auto',
            background: 'rgba(127,127,127,0.1)',
            padding: 8,
          }}
        >
          {step.plan.diff}
        </pre>
      )}
      <Json label="state diff (before → after)" value={step.diff} />
      <Json label="output" value={step.output} />
      {step.blastRadius && <Radius radius={step.blastRadius} />}
      {waiting && gate && (
        <Box data-testid={`gate-${step.stepId}`}>
          <Typography variant="body2">
            Waits for {gate.required} approval{gate.required === 1 ? '' : 's'}{' '}
            of plan {gate.planDigest} by a person other than{' '}
            {short(execution.requester)}
            {gate.ownerApprovalFrom.length > 0 &&
              `, one of them from ${gate.ownerApprovalFrom
                .map(short)
                .join(' or ')}`}
            .
          </Typography>
          <Typography variant="body2" color="textSecondary">
            Approve before {new Date(gate.expiresAt).toLocaleString()}; after
            that the step is planned afresh and asks again.
          </Typography>
          {gate.approvals.length > 0 && (
            <Typography variant="body2">
              Approved so far by{' '}
              {gate.approvals
                .map(
                  a =>
                    `${short(a.decidedBy)} (${new Date(
                      a.createdAt,
                    ).toLocaleString()})`,
                )
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
                      l.users.map(short).join(', ') || 'nobody'
                    }`,
                )
                .join(' · ')}
            </Typography>
          )}
          {gate.canApprove ? (
            <>
              <Button
                size="small"
                color="primary"
                variant="contained"
                onClick={() => onDecide(step, 'approved')}
              >
                Approve this plan
              </Button>{' '}
              <Button
                size="small"
                variant="outlined"
                onClick={() => onDecide(step, 'rejected')}
              >
                Reject
              </Button>
            </>
          ) : (
            <Typography variant="body2" color="textSecondary">
              {execution.requester === props.viewer
                ? 'You requested this execution, so another person must approve it (four-eyes rule).'
                : 'You may not approve this execution.'}
            </Typography>
          )}
        </Box>
      )}
    </Box>
  );
}

function ExecutionDetails(props: { id: string; onChange: () => void }) {
  const api = useApi(runbooksApiRef);
  const identity = useApi(identityApiRef);
  const [viewer, setViewer] = useState<string>();
  useEffect(() => {
    identity.getBackstageIdentity().then(i => setViewer(i.userEntityRef));
  }, [identity]);
  const [details, setDetails] = useState<ExecutionDetailsResponse>();
  const [error, setError] = useState<Error>();
  const load = useCallback(
    () => api.getExecution(props.id).then(setDetails, setError),
    [api, props.id],
  );
  useEffect(() => {
    load();
    // until the live stream view lands, a running execution is refreshed every second
    const timer = setInterval(() => {
      if (!details || !FINAL.includes(details.execution.status)) load();
    }, 1000);
    return () => clearInterval(timer);
  }, [load, details]);
  if (error) return <ResponseErrorPanel error={error} />;
  if (!details) return <Typography variant="body2">Loading…</Typography>;
  const onDecide = async (
    step: StepRunResponse,
    decision: 'approved' | 'rejected',
  ) => {
    try {
      await api.decide(details.execution.id, step.stepIndex, {
        decision,
        planDigest: step.planDigest!,
      });
      setError(undefined);
      props.onChange();
      await load();
    } catch (e) {
      setError(e as Error);
    }
  };
  const onDownload = async () => {
    try {
      const text = await api.getBundles(details.execution.id);
      const url = URL.createObjectURL(
        new Blob([text], { type: 'application/x-ndjson' }),
      );
      const a = document.createElement('a');
      a.href = url;
      a.download = `execution-${details.execution.id}.jsonl`;
      a.click();
      URL.revokeObjectURL(url);
    } catch (e) {
      setError(e as Error);
    }
  };
  return (
    <Box pl={2}>
      <ProvenanceBadge
        executionId={details.execution.id}
        provenance={details.provenance}
        onDownload={onDownload}
      />
      {details.execution.statusMessage && (
        <Typography variant="body2" gutterBottom>
          {details.execution.statusMessage}
        </Typography>
      )}
      {details.steps.map(step => (
        <Step
          key={step.stepIndex}
          step={step}
          execution={details.execution}
          gate={details.gate}
          viewer={viewer}
          onDecide={onDecide}
        />
      ))}
    </Box>
  );
}

/**
 * The recent executions of runbooks against this entity, each with its steps, plans, diffs and
 * (for a step waiting for approval) the approve / reject buttons.
 * @public
 */
export function EntityExecutions(props: {
  entityRef: string;
  /** Changes when a new execution was started here, to reload and open it. */
  started?: Pick<ExecutionResponse, 'id'>;
}) {
  const api = useApi(runbooksApiRef);
  const [items, setItems] = useState<ExecutionResponse[]>([]);
  const [open, setOpen] = useState<string | undefined>(props.started?.id);
  const [error, setError] = useState<Error>();
  const load = useCallback(
    () =>
      api
        .listExecutions({ entityRef: props.entityRef, limit: 10 })
        .then(r => setItems(r.items), setError),
    [api, props.entityRef],
  );
  useEffect(() => {
    load();
    if (props.started) setOpen(props.started.id);
  }, [load, props.started]);
  useEffect(() => {
    const timer = setInterval(() => {
      if (items.some(i => !FINAL.includes(i.status))) load();
    }, 2000);
    return () => clearInterval(timer);
  }, [items, load]);

  return (
    <InfoCard title="Recent executions">
      {error && <ResponseErrorPanel error={error} />}
      {items.length === 0 && (
        <Typography variant="body2">No executions yet.</Typography>
      )}
      {items.map(item => (
        <Box key={item.id} mb={1} data-testid={`execution-${item.id}`}>
          <Button
            size="small"
            onClick={() => setOpen(open === item.id ? undefined : item.id)}
          >
            {open === item.id ? '▾' : '▸'}
          </Button>
          <Typography variant="body2" component="span">
            {item.runbookRef.replace(/^runbook:default\//, '')} · {item.mode} ·
            by {item.requester.replace(/^user:default\//, '')} ·{' '}
            {new Date(item.createdAt).toLocaleString()}{' '}
          </Typography>
          <Chip
            size="small"
            color={statusColor(item.status)}
            label={item.status}
            data-testid="execution-status"
          />
          {open === item.id && (
            <ExecutionDetails id={item.id} onChange={load} />
          )}
        </Box>
      ))}
    </InfoCard>
  );
}
