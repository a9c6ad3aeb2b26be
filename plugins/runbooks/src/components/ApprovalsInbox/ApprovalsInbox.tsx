import {
  EmptyState,
  InfoCard,
  Link,
  Progress,
  ResponseErrorPanel,
} from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import { EntityRefLink } from '@backstage/plugin-catalog-react';
import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import { ApprovalInboxItem } from '@runbooks/plugin-runbooks-common';
import { useCallback, useState } from 'react';
import { usePolled } from '../common/usePolled';
import { runbooksApiRef } from '../../api';
import { DiffView } from '../common/DiffView';
import { errorMessage } from '../common/errorMessage';
import { Radius, useExecutionLink } from '../common/ExecutionParts';
import { HealthNote } from '../common/HealthNote';
import { formatAgo, formatTime, shortRef } from '../common/format';
import { GatePanel } from '../ExecutionView';

/** One approval request: a new step, attempt or plan is a new item (and a fresh comment box). */
const itemKey = (item: ApprovalInboxItem) =>
  `${item.execution.id}:${item.step.stepIndex}:${item.step.attempt}:${item.gate.planDigest}`;

/** How often the inbox looks for new requests. */
const REFRESH_MS = 10_000;

function InboxItem(props: {
  item: ApprovalInboxItem;
  onDecided: () => Promise<void>;
}) {
  const { execution, step, gate, cannotApprove } = props.item;
  const api = useApi(runbooksApiRef);
  const link = useExecutionLink();
  const [error, setError] = useState<string>();
  const requested = gate.requestedAt ?? execution.createdAt;
  return (
    <Box mb={2} data-testid={`inbox-${execution.id}`}>
      <InfoCard
        title={`${shortRef(execution.runbookRef)} on ${shortRef(
          execution.entityRef,
        )}`}
        subheader={`step ${step.stepIndex + 1} '${
          step.stepId
        }' · requested by ${shortRef(execution.requester)} ${formatAgo(
          requested,
        )} (${formatTime(requested)})`}
      >
        <Typography variant="body2" gutterBottom>
          Entity:{' '}
          <EntityRefLink
            entityRef={execution.entityRef}
            defaultKind="component"
          />
          {link && (
            <>
              {' · '}
              <Link to={link(execution.id)}>Open the execution</Link>
            </>
          )}
        </Typography>
        <Typography variant="body2" gutterBottom>
          Parameters:{' '}
          {Object.entries(execution.parameters)
            .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
            .join(', ') || 'none'}
        </Typography>
        <HealthNote health={props.item.health} warning />
        {step.plan?.diff ? (
          <DiffView
            diff={step.plan.diff}
            testId={`inbox-diff-${execution.id}`}
          />
        ) : (
          <Typography variant="body2" color="textSecondary">
            The plan has no textual diff ({step.plan?.objectCount ?? 0}{' '}
            object(s)).
          </Typography>
        )}
        {step.blastRadius && <Radius radius={step.blastRadius} />}
        <GatePanel
          execution={execution}
          gate={{ ...gate, cannotApprove: gate.cannotApprove ?? cannotApprove }}
          onDecide={async (decision, comment) => {
            try {
              await api.decide(execution.id, step.stepIndex, {
                decision,
                planDigest: gate.planDigest,
                comment,
              });
              setError(undefined);
              await props.onDecided();
            } catch (e) {
              setError(errorMessage(e));
            }
          }}
        />
        {error && (
          <Typography color="error" variant="body2" role="alert">
            {error}
          </Typography>
        )}
      </InfoCard>
    </Box>
  );
}

/**
 * The approvals inbox: executions waiting for the signed-in person's approval, with the plan diff
 * and blast radius inline, approve / reject with a comment; the person's own waiting requests show
 * why they cannot approve them.
 * @public
 */
export function ApprovalsInbox() {
  const api = useApi(runbooksApiRef);
  const {
    value: inbox,
    error,
    reload: load,
  } = usePolled(
    useCallback(() => api.getApprovalsInbox(), [api]),
    REFRESH_MS,
  );

  if (!inbox) {
    return error ? <ResponseErrorPanel error={error} /> : <Progress />;
  }
  const mine = inbox.items.filter(i => i.gate.canApprove);
  const theirs = inbox.items.filter(i => !i.gate.canApprove);
  return (
    <Box>
      {error && <ResponseErrorPanel error={error} />}
      <Typography variant="h6" component="h2" gutterBottom>
        Waiting for your approval ({mine.length})
      </Typography>
      {mine.length === 0 && (
        <EmptyState
          missing="data"
          title="Nothing waits for your approval"
          description="Executions whose plan needs a second person appear here while they wait."
        />
      )}
      {mine.map(item => (
        <InboxItem key={itemKey(item)} item={item} onDecided={load} />
      ))}
      {theirs.length > 0 && (
        <>
          <Typography variant="h6" component="h2" gutterBottom>
            Waiting for someone else ({theirs.length})
          </Typography>
          <Typography variant="body2" color="textSecondary" gutterBottom>
            Your own requests, and those you already approved or cannot
            complete: each says why.
          </Typography>
          {theirs.map(item => (
            <InboxItem key={itemKey(item)} item={item} onDecided={load} />
          ))}
        </>
      )}
    </Box>
  );
}
