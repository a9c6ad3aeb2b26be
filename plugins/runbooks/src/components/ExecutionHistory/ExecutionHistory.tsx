import { InfoCard, Link, ResponseErrorPanel } from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import MenuItem from '@material-ui/core/MenuItem';
import TextField from '@material-ui/core/TextField';
import Typography from '@material-ui/core/Typography';
import {
  EXECUTION_STATUS_VALUES,
  ExecutionResponse,
  ExecutionStatsResponse,
  ExecutionStatusValue,
} from '@runbooks/plugin-runbooks-common';
import { parseEntityRef, stringifyEntityRef } from '@backstage/catalog-model';
import { useCallback, useEffect, useRef, useState } from 'react';
import { ExecutionListFilter, runbooksApiRef } from '../../api';
import { useExecutionLink } from '../common/ExecutionParts';
import { FINAL_STATUSES, formatTime, shortRef } from '../common/format';
import { StatusChip } from '../common/StatusChip';
import { ExecutionView } from '../ExecutionView';
import { ExecutionChart } from './ExecutionChart';

const PAGE_SIZE = 10;

interface Filters {
  runbookRef: string;
  status: '' | ExecutionStatusValue;
  requester: string;
  from: string;
  to: string;
}

const NO_FILTERS: Filters = {
  runbookRef: '',
  status: '',
  requester: '',
  from: '',
  to: '',
};

/** `alice` → `user:default/alice`; a full ref stays as it is; text that is no ref is sent as typed. */
function userRef(name: string): string {
  try {
    return stringifyEntityRef(
      parseEntityRef(name, {
        defaultKind: 'user',
        defaultNamespace: 'default',
      }),
    );
  } catch {
    return name;
  }
}

/** The start of the day after `day` (YYYY-MM-DD) in the reader's time zone, DST included. */
function dayAfter(day: string): Date {
  const d = new Date(`${day}T00:00:00`);
  d.setDate(d.getDate() + 1);
  return d;
}

function toQuery(entityRef: string, f: Filters): ExecutionListFilter {
  return {
    entityRef,
    runbookRef: f.runbookRef || undefined,
    status: f.status ? [f.status] : undefined,
    requester: f.requester.trim() ? userRef(f.requester.trim()) : undefined,
    // dates are the reader's days: from its first moment to the end of the last
    createdAfter: f.from
      ? new Date(`${f.from}T00:00:00`).toISOString()
      : undefined,
    createdBefore: f.to ? dayAfter(f.to).toISOString() : undefined,
    limit: PAGE_SIZE,
  };
}

/**
 * The history of runbook executions on an entity: a chart per week by outcome, filters by runbook,
 * status, requester and time, a page at a time; each execution opens in place (live) or on its page.
 * @public
 */
export function ExecutionHistory(props: {
  entityRef: string;
  /** The runbooks of the entity, for the runbook filter. */
  runbooks: Array<{ ref: string; title?: string; name: string }>;
  stats?: ExecutionStatsResponse;
  /** Changes when a new execution was started here, to reload and open it. */
  started?: Pick<ExecutionResponse, 'id'>;
  /** Called when an execution shown here changed status (to refresh figures). */
  onChange?: () => void;
}) {
  const api = useApi(runbooksApiRef);
  const link = useExecutionLink();
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  // what is typed in the requester field; it becomes a filter once typing pauses
  const [requesterText, setRequesterText] = useState('');
  const latest = useRef(0);
  // an execution shown here changed status: the figures change too
  const changed = useRef(false);
  // cursors of the pages before this one, and this one's
  const [cursors, setCursors] = useState<Array<string | undefined>>([
    undefined,
  ]);
  const [items, setItems] = useState<ExecutionResponse[]>([]);
  const [nextCursor, setNextCursor] = useState<string>();
  const [loaded, setLoaded] = useState(false);
  const [open, setOpen] = useState<string | undefined>(props.started?.id);
  const [error, setError] = useState<Error>();
  const { onChange } = props;
  const cursor = cursors[cursors.length - 1];

  const load = useCallback(() => {
    // only the newest request's answer is shown: an older one may arrive later
    const request = ++latest.current;
    return api
      .listExecutions({ ...toQuery(props.entityRef, filters), cursor })
      .then(
        page => {
          if (request !== latest.current) return;
          setItems(previous => {
            changed.current = page.items.some(i => {
              const before = previous.find(p => p.id === i.id);
              return before !== undefined && before.status !== i.status;
            });
            return page.items;
          });
          setNextCursor(page.nextCursor);
          setError(undefined);
          setLoaded(true);
        },
        e => {
          if (request === latest.current) setError(e);
        },
      );
  }, [api, props.entityRef, filters, cursor]);
  useEffect(() => {
    if (changed.current) {
      changed.current = false;
      onChange?.();
    }
  }, [items, onChange]);
  useEffect(() => {
    load();
  }, [load, props.started]);
  useEffect(() => {
    if (!props.started) return;
    setFilters(NO_FILTERS);
    setRequesterText('');
    setCursors([undefined]);
    setOpen(props.started.id);
  }, [props.started]);
  useEffect(() => {
    if (requesterText === filters.requester) return undefined;
    const timer = setTimeout(() => {
      setFilters(f => ({ ...f, requester: requesterText }));
      setCursors([undefined]);
    }, 300);
    return () => clearTimeout(timer);
  }, [requesterText, filters.requester]);
  useEffect(() => {
    const timer = setInterval(() => {
      if (items.some(i => !FINAL_STATUSES.includes(i.status))) load();
    }, 2000);
    return () => clearInterval(timer);
  }, [items, load]);

  const set = (patch: Partial<Filters>) => {
    setFilters(f => ({ ...f, ...patch }));
    setCursors([undefined]);
  };
  const filtered = JSON.stringify(filters) !== JSON.stringify(NO_FILTERS);

  return (
    <InfoCard title="Execution history">
      {props.stats && <ExecutionChart stats={props.stats} />}
      <Box
        display="flex"
        flexWrap="wrap"
        mt={1}
        mb={1}
        role="search"
        aria-label="Filter executions"
      >
        <TextField
          select
          size="small"
          variant="outlined"
          label="Runbook"
          value={filters.runbookRef}
          onChange={e => set({ runbookRef: e.target.value })}
          style={{ minWidth: 200, marginRight: 8, marginBottom: 8 }}
          InputLabelProps={{ shrink: true }}
          SelectProps={{
            displayEmpty: true,
            inputProps: { 'aria-label': 'Runbook' },
          }}
        >
          <MenuItem value="">any runbook</MenuItem>
          {props.runbooks.map(r => (
            <MenuItem key={r.ref} value={r.ref}>
              {r.title ?? r.name}
            </MenuItem>
          ))}
        </TextField>
        <TextField
          select
          size="small"
          variant="outlined"
          label="Status"
          value={filters.status}
          onChange={e => set({ status: e.target.value as Filters['status'] })}
          style={{ minWidth: 150, marginRight: 8, marginBottom: 8 }}
          InputLabelProps={{ shrink: true }}
          SelectProps={{
            displayEmpty: true,
            inputProps: { 'aria-label': 'Status' },
          }}
        >
          <MenuItem value="">any status</MenuItem>
          {EXECUTION_STATUS_VALUES.map(s => (
            <MenuItem key={s} value={s}>
              {s}
            </MenuItem>
          ))}
        </TextField>
        <TextField
          size="small"
          variant="outlined"
          label="Requester"
          placeholder="alice"
          value={requesterText}
          onChange={e => setRequesterText(e.target.value)}
          inputProps={{ 'aria-label': 'Requester' }}
          style={{ width: 140, marginRight: 8, marginBottom: 8 }}
        />
        <TextField
          size="small"
          variant="outlined"
          type="date"
          label="From"
          InputLabelProps={{ shrink: true }}
          value={filters.from}
          onChange={e => set({ from: e.target.value })}
          inputProps={{ 'aria-label': 'From' }}
          style={{ marginRight: 8, marginBottom: 8 }}
        />
        <TextField
          size="small"
          variant="outlined"
          type="date"
          label="To"
          InputLabelProps={{ shrink: true }}
          value={filters.to}
          onChange={e => set({ to: e.target.value })}
          inputProps={{ 'aria-label': 'To' }}
          style={{ marginRight: 8, marginBottom: 8 }}
        />
        {filtered && (
          <Button
            size="small"
            onClick={() => {
              setRequesterText('');
              set(NO_FILTERS);
            }}
          >
            Clear filters
          </Button>
        )}
      </Box>
      {error && <ResponseErrorPanel error={error} />}
      {loaded && items.length === 0 && (
        <Typography variant="body2">
          {filtered || cursors.length > 1
            ? 'No executions match these filters.'
            : 'No executions yet.'}
        </Typography>
      )}
      {items.map(item => (
        <Box key={item.id} mb={1} data-testid={`execution-${item.id}`}>
          <Box display="flex" flexWrap="wrap" alignItems="center">
            <Button
              size="small"
              aria-expanded={open === item.id}
              aria-label={`${open === item.id ? 'Hide' : 'Show'} execution ${
                item.id
              }`}
              onClick={() => setOpen(open === item.id ? undefined : item.id)}
            >
              {open === item.id ? '▾' : '▸'}
            </Button>
            <Typography
              variant="body2"
              component="span"
              style={{ marginRight: 8 }}
            >
              {shortRef(item.runbookRef)} · {item.mode} · by{' '}
              {shortRef(item.requester)} · {formatTime(item.createdAt)}
            </Typography>
            <StatusChip status={item.status} testId="execution-status" />
            {link && (
              <Box ml={1}>
                <Link to={link(item.id)}>Open page</Link>
              </Box>
            )}
          </Box>
          {open === item.id && (
            <Box pl={2} pt={1}>
              <ExecutionView id={item.id} onChange={load} />
            </Box>
          )}
        </Box>
      ))}
      {(cursors.length > 1 || nextCursor) && (
        <Box display="flex" justifyContent="space-between" mt={1}>
          <Button
            size="small"
            disabled={cursors.length <= 1}
            onClick={() => setCursors(c => c.slice(0, -1))}
          >
            ‹ Newer
          </Button>
          <Typography variant="caption" style={{ alignSelf: 'center' }}>
            Page {cursors.length}
          </Typography>
          <Button
            size="small"
            disabled={!nextCursor}
            onClick={() => setCursors(c => [...c, nextCursor])}
          >
            Older ›
          </Button>
        </Box>
      )}
    </InfoCard>
  );
}
