import {
  getCompoundEntityRef,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import {
  EmptyState,
  Link,
  Progress,
  ResponseErrorPanel,
  Table,
  TableColumn,
} from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import { EntityRefLink, useEntity } from '@backstage/plugin-catalog-react';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Typography from '@material-ui/core/Typography';
import {
  EntityRunbook,
  ExecutionResponse,
  ExecutionStatsResponse,
  RunbookStatsResponse,
} from '@runbooks/plugin-runbooks-common';
import { useCallback, useEffect, useState } from 'react';
import useAsync from 'react-use/esm/useAsync';
import { runbooksApiRef } from '../../api';
import { AgentProposals } from '../AgentProposals';
import { Radius, useExecutionLink } from '../common/ExecutionParts';
import { HealthNote } from '../common/HealthNote';
import { errorMessage } from '../common/errorMessage';
import { formatAgo, formatDuration } from '../common/format';
import { StatusChip } from '../common/StatusChip';
import { ExecutionHistory } from '../ExecutionHistory';
import { KillSwitchBanner } from '../KillSwitch';
import { RunRunbookDialog } from '../RunRunbookDialog';
import { ParametersList } from './ParametersList';

const APPROVAL_LABEL: Record<EntityRunbook['approval'], string> = {
  always: 'Always',
  'blast-radius': 'By its blast radius',
  none: 'No (read-only)',
};

const baseColumns: TableColumn<EntityRunbook>[] = [
  {
    title: 'Runbook',
    field: 'title',
    highlight: true,
    render: row => (
      <>
        <Typography variant="subtitle2">{row.title ?? row.name}</Typography>
        {row.description && (
          <Typography variant="body2" color="textSecondary">
            {row.description}
          </Typography>
        )}
        {row.toolProblems.map(p => (
          <Typography
            key={`${p.stepId}:${p.message}`}
            variant="body2"
            color="error"
          >
            Cannot run: step {p.stepId} ({p.tool}): {p.message}
          </Typography>
        ))}
      </>
    ),
  },
  {
    title: 'Owner',
    field: 'owner',
    render: row => <EntityRefLink entityRef={row.owner} defaultKind="group" />,
  },
  {
    title: 'Risk',
    field: 'mutatingSteps',
    render: row => <Risk runbook={row} />,
  },
  {
    title: 'Parameters',
    sorting: false,
    render: row => <ParametersList runbook={row} />,
  },
];

/** What a runbook changes, whether it waits for a person, and how far its change reaches here. */
function Risk(props: { runbook: EntityRunbook }) {
  const { runbook } = props;
  return (
    <Box data-testid={`risk-${runbook.name}`}>
      <Typography variant="body2">
        {runbook.mutatingSteps === 0
          ? 'Read-only'
          : `${runbook.mutatingSteps} of ${runbook.steps.length} steps change state`}
      </Typography>
      <Typography variant="body2" color="textSecondary">
        Approval: {APPROVAL_LABEL[runbook.approval]}
      </Typography>
      {runbook.radiusPreview && (
        <Radius radius={runbook.radiusPreview} preview />
      )}
      <HealthNote health={runbook.health} />
    </Box>
  );
}

/** The newest run of a runbook here, and how often it succeeds. */
function LastRun(props: { stats?: RunbookStatsResponse }) {
  const link = useExecutionLink();
  const { stats } = props;
  if (!stats?.lastRun) {
    return (
      <Typography variant="body2" color="textSecondary">
        Never run here
      </Typography>
    );
  }
  const last = stats.lastRun;
  const when = formatAgo(last.createdAt);
  return (
    <Box data-testid={`last-run-${last.runbookRef}`}>
      <StatusChip status={last.status} />{' '}
      <Typography variant="body2" component="span">
        {link ? <Link to={link(last.id)}>{when}</Link> : when}
      </Typography>
      <Typography variant="body2" color="textSecondary">
        {stats.successRate === undefined
          ? 'no finished runs in 12 weeks'
          : `${Math.round(stats.successRate * 100)}% succeeded (${
              stats.succeeded
            } of ${stats.succeeded + stats.failed}, 12 weeks)`}
        {stats.medianDurationMs !== undefined &&
          ` · median ${formatDuration(stats.medianDurationMs)}`}
      </Typography>
      {(stats.needsAttention > 0 ||
        stats.rejected > 0 ||
        stats.mostFailedStep) && (
        <Typography variant="body2" color="textSecondary">
          {[
            stats.needsAttention > 0 &&
              `needed attention ${stats.needsAttention}×`,
            stats.rejected > 0 && `rejected ${stats.rejected}×`,
            stats.mostFailedStep &&
              `fails most at '${stats.mostFailedStep.stepId}' (${stats.mostFailedStep.failures}×)`,
          ]
            .filter(Boolean)
            .join(' · ')}
        </Typography>
      )}
    </Box>
  );
}

/**
 * The Runbooks tab of an entity page: the runbooks that apply to the entity.
 * @public
 */
export function EntityRunbooksContent() {
  const { entity } = useEntity();
  const api = useApi(runbooksApiRef);
  const entityRef = getCompoundEntityRef(entity);
  const [running, setRunning] = useState<EntityRunbook>();
  const [started, setStarted] = useState<Pick<ExecutionResponse, 'id'>>();
  const stringRef = stringifyEntityRef(entity);
  // bumped after a health check, to read the runbooks (and their health) again
  const [version, setVersion] = useState(0);
  const [checking, setChecking] = useState(false);
  const [checkError, setCheckError] = useState<string>();
  const { value, loading, error } = useAsync(
    () => api.getEntityRunbooks(entityRef),
    [api, entityRef.kind, entityRef.namespace, entityRef.name, version],
  );
  const checkNow = async () => {
    setChecking(true);
    setCheckError(undefined);
    try {
      await api.checkHealth(entityRef);
      setVersion(v => v + 1);
    } catch (e) {
      setCheckError(errorMessage(e));
    } finally {
      setChecking(false);
    }
  };
  const [stats, setStats] = useState<ExecutionStatsResponse>();
  const loadStats = useCallback(
    () =>
      api.getExecutionStats(stringRef, 12).then(setStats, () => {
        // the figures are an extra: the tab works without them
        setStats(undefined);
      }),
    [api, stringRef],
  );
  useEffect(() => {
    loadStats();
  }, [loadStats, started]);

  if (loading && !value) {
    return <Progress />;
  }
  // past executions stay readable for reviewers even when no runbook applies here any more
  const history = (
    <Box mt={2}>
      <ExecutionHistory
        entityRef={stringRef}
        runbooks={value?.items ?? []}
        stats={stats}
        started={started}
        onChange={loadStats}
      />
    </Box>
  );
  if (error) {
    return (
      <>
        <ResponseErrorPanel error={error} />
        {history}
      </>
    );
  }
  if (!value || value.items.length === 0) {
    return (
      <>
        <KillSwitchBanner entityRef={stringRef} />
        <EmptyState
          missing="data"
          title="No runbooks apply to this entity"
          description="A runbook applies through spec.appliesTo in the runbook (entities or a selector), or through the runbooks.backstage.io/runbooks annotation on this entity."
        />
        {history}
      </>
    );
  }
  const byRunbook = new Map(stats?.runbooks.map(r => [r.runbookRef, r]));
  const columns: TableColumn<EntityRunbook>[] = [
    ...baseColumns.slice(0, 2),
    {
      title: 'Last run',
      sorting: false,
      render: row => <LastRun stats={byRunbook.get(row.ref)} />,
    },
    ...baseColumns.slice(2),
    {
      title: '',
      sorting: false,
      render: row =>
        value.canExecute ? (
          <Button
            size="small"
            variant="outlined"
            color="primary"
            aria-label={`Run ${row.name}`}
            onClick={() => setRunning(row)}
          >
            Run
          </Button>
        ) : (
          <Typography variant="caption" color="textSecondary">
            You may not run runbooks here
          </Typography>
        ),
    },
  ];
  return (
    <>
      <KillSwitchBanner
        entityRef={stringRef}
        runbookRefs={value.items.map(r => r.ref)}
      />
      {value.canExecute && (
        <Box display="flex" alignItems="center" flexWrap="wrap" mb={1}>
          <Button
            size="small"
            variant="outlined"
            disabled={checking}
            onClick={checkNow}
          >
            {checking
              ? 'Checking against the system…'
              : 'Check runbooks against the system'}
          </Button>
          <Typography
            variant="caption"
            color="textSecondary"
            style={{ marginLeft: 8 }}
          >
            Reads and dry-runs only: nothing changes.
          </Typography>
          {checkError && (
            <Typography variant="body2" color="error" role="alert">
              {checkError}
            </Typography>
          )}
        </Box>
      )}
      <Table<EntityRunbook>
        title={`Runbooks (${value.items.length})`}
        options={{ paging: false, search: true, padding: 'dense' }}
        columns={columns}
        data={value.items}
      />
      <Box mt={2}>
        <AgentProposals
          entity={entityRef}
          runbooks={value.items}
          canExecute={value.canExecute}
          onStarted={id => setStarted({ id })}
        />
      </Box>
      {history}
      {running && (
        <RunRunbookDialog
          runbook={running}
          entityRef={stringRef}
          open
          onClose={() => setRunning(undefined)}
          onStarted={execution => {
            setRunning(undefined);
            setStarted(execution);
          }}
        />
      )}
    </>
  );
}
