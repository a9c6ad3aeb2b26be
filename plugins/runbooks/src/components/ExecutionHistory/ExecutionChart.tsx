import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import { useTheme } from '@material-ui/core/styles';
import { ExecutionStatsResponse } from '@runbooks/plugin-runbooks-common';
import { formatDuration, OUTCOME_COLOURS } from '../common/format';

const OUTCOMES = ['succeeded', 'failed', 'cancelled', 'open'] as const;

const weekLabel = (iso: string) =>
  new Date(iso).toLocaleDateString(undefined, {
    month: 'short',
    day: 'numeric',
    timeZone: 'UTC',
  });

/** The entity's figures over the window, in one line. */
function describeTotals(totals: ExecutionStatsResponse['totals'] | undefined) {
  if (!totals || totals.total === 0) return 'No runs in these weeks.';
  return [
    `${totals.total} run${totals.total === 1 ? '' : 's'}`,
    totals.successRate !== undefined &&
      `${Math.round(totals.successRate * 100)}% of those that ended succeeded`,
    `${totals.needsAttention} needed attention`,
    `${totals.rejected} rejected by an approver`,
  ]
    .filter(Boolean)
    .join(' · ');
}

/**
 * Executions per week by outcome (stacked bars) with each week's median time to finish above its
 * bar; the same figures as a table for screen readers and for copying.
 */
export function ExecutionChart(props: { stats: ExecutionStatsResponse }) {
  const theme = useTheme();
  const { weeks } = props.stats;
  const totals = weeks.map(w => w.succeeded + w.failed + w.cancelled + w.open);
  const max = Math.max(1, ...totals);
  const barWidth = 24;
  const gap = 10;
  const top = 18;
  const height = 110;
  const width = weeks.length * (barWidth + gap) + gap;
  const total = totals.reduce((a, b) => a + b, 0);
  const label = `Executions per week over the last ${
    weeks.length
  } weeks: ${total} in all${
    props.stats.medianDurationMs !== undefined
      ? `, median time to finish ${formatDuration(
          props.stats.medianDurationMs,
        )}`
      : ''
  }.`;
  return (
    <Box data-testid="history-chart">
      <Box display="flex" flexWrap="wrap" alignItems="baseline" mb={0.5}>
        <Typography variant="subtitle2" style={{ marginRight: 16 }}>
          Executions per week
        </Typography>
        {OUTCOMES.map(o => (
          <Typography
            key={o}
            variant="caption"
            style={{ marginRight: 12, display: 'inline-flex' }}
          >
            <span
              aria-hidden
              style={{
                width: 10,
                height: 10,
                marginRight: 4,
                marginTop: 3,
                background: OUTCOME_COLOURS[o],
                display: 'inline-block',
              }}
            />
            {o === 'open' ? 'not ended' : o}
          </Typography>
        ))}
        <Typography variant="caption" color="textSecondary">
          {props.stats.medianDurationMs !== undefined
            ? `median time to finish: ${formatDuration(
                props.stats.medianDurationMs,
              )}`
            : 'nothing finished yet'}
        </Typography>
      </Box>
      <svg
        role="img"
        aria-label={label}
        viewBox={`0 0 ${width} ${height + top + 16}`}
        style={{ width: '100%', maxWidth: 560, height: 'auto' }}
      >
        {weeks.map((w, i) => {
          const x = gap + i * (barWidth + gap);
          let y = top + height;
          const parts = OUTCOMES.map(o => {
            const h = (w[o] / max) * height;
            y -= h;
            return (
              <rect
                key={o}
                x={x}
                y={y}
                width={barWidth}
                height={h}
                fill={OUTCOME_COLOURS[o]}
              >
                <title>{`${weekLabel(w.weekStart)}: ${w[o]} ${o}`}</title>
              </rect>
            );
          });
          return (
            <g key={w.weekStart}>
              {parts}
              {w.medianDurationMs !== undefined && (
                <text
                  x={x + barWidth / 2}
                  y={y - 4}
                  fontSize={8}
                  textAnchor="middle"
                  fill={theme.palette.text.secondary}
                >
                  {formatDuration(w.medianDurationMs)}
                </text>
              )}
              <text
                x={x + barWidth / 2}
                y={top + height + 12}
                fontSize={8}
                textAnchor="middle"
                fill={theme.palette.text.secondary}
              >
                {weekLabel(w.weekStart)}
              </text>
            </g>
          );
        })}
      </svg>
      <Typography variant="body2" data-testid="entity-figures">
        {describeTotals(props.stats.totals)}
      </Typography>
      <details>
        <summary>
          <Typography variant="caption">Show the figures as a table</Typography>
        </summary>
        <table
          style={{ fontSize: 12, borderSpacing: '12px 2px' }}
          aria-label="Executions per week by outcome"
        >
          <thead>
            <tr>
              <th scope="col">week of</th>
              <th scope="col">succeeded</th>
              <th scope="col">failed</th>
              <th scope="col">cancelled</th>
              <th scope="col">not ended</th>
              <th scope="col">median time to finish</th>
            </tr>
          </thead>
          <tbody>
            {weeks.map(w => (
              <tr key={w.weekStart}>
                <th scope="row">{weekLabel(w.weekStart)}</th>
                <td>{w.succeeded}</td>
                <td>{w.failed}</td>
                <td>{w.cancelled}</td>
                <td>{w.open}</td>
                <td>
                  {w.medianDurationMs === undefined
                    ? '—'
                    : formatDuration(w.medianDurationMs)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </Box>
  );
}
