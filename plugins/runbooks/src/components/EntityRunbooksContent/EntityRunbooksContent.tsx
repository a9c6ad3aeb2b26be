import {
  getCompoundEntityRef,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import {
  EmptyState,
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
} from '@runbooks/plugin-runbooks-common';
import { useState } from 'react';
import useAsync from 'react-use/esm/useAsync';
import { runbooksApiRef } from '../../api';
import { AgentProposals } from '../AgentProposals';
import { EntityExecutions } from '../EntityExecutions';
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
    title: 'Mutating steps',
    field: 'mutatingSteps',
    render: row => `${row.mutatingSteps} of ${row.steps.length}`,
  },
  {
    title: 'Approval needed',
    field: 'approval',
    render: row => APPROVAL_LABEL[row.approval],
  },
  {
    title: 'Parameters',
    sorting: false,
    render: row => <ParametersList runbook={row} />,
  },
];

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
  const { value, loading, error } = useAsync(
    () => api.getEntityRunbooks(entityRef),
    [api, entityRef.kind, entityRef.namespace, entityRef.name],
  );

  if (loading) {
    return <Progress />;
  }
  if (error) {
    return <ResponseErrorPanel error={error} />;
  }
  if (!value || value.items.length === 0) {
    return (
      <EmptyState
        missing="data"
        title="No runbooks apply to this entity"
        description="A runbook applies through spec.appliesTo in the runbook (entities or a selector), or through the runbooks.backstage.io/runbooks annotation on this entity."
      />
    );
  }
  const columns: TableColumn<EntityRunbook>[] = [
    ...baseColumns,
    {
      title: '',
      sorting: false,
      render: row => (
        <Button
          size="small"
          variant="outlined"
          color="primary"
          aria-label={`Run ${row.name}`}
          onClick={() => setRunning(row)}
        >
          Run
        </Button>
      ),
    },
  ];
  return (
    <>
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
      <Box mt={2}>
        <EntityExecutions
          entityRef={stringifyEntityRef(entity)}
          started={started}
        />
      </Box>
      {running && (
        <RunRunbookDialog
          runbook={running}
          entityRef={stringifyEntityRef(entity)}
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
