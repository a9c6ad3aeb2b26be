import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import { makeStyles } from '@material-ui/core/styles';
import { useState } from 'react';

/** Diffs longer than this start collapsed. */
const COLLAPSE_AFTER = 40;

const useStyles = makeStyles(theme => ({
  table: {
    borderCollapse: 'collapse',
    width: '100%',
    fontFamily: 'monospace',
    fontSize: 12,
    tableLayout: 'fixed',
  },
  cell: {
    whiteSpace: 'pre-wrap',
    wordBreak: 'break-all',
    verticalAlign: 'top',
    padding: '0 6px',
  },
  add: { backgroundColor: 'rgba(46,160,67,0.18)' },
  del: { backgroundColor: 'rgba(248,81,73,0.18)' },
  hunk: { color: theme.palette.text.secondary },
  header: { fontWeight: 'bold' },
  frame: {
    border: `1px solid ${theme.palette.divider}`,
    overflowX: 'auto',
    maxWidth: '100%',
  },
}));

type Kind = 'add' | 'del' | 'ctx' | 'hunk' | 'header';
interface Line {
  kind: Kind;
  text: string;
}

function classify(line: string): Line {
  if (
    line.startsWith('diff ') ||
    line.startsWith('--- ') ||
    line.startsWith('+++ ') ||
    line.startsWith('index ')
  ) {
    return { kind: 'header', text: line };
  }
  if (line.startsWith('@@')) return { kind: 'hunk', text: line };
  if (line.startsWith('+')) return { kind: 'add', text: line.slice(1) };
  if (line.startsWith('-')) return { kind: 'del', text: line.slice(1) };
  return { kind: 'ctx', text: line.startsWith(' ') ? line.slice(1) : line };
}

/** Pairs a unified diff's lines into rows of (before, after): removals beside the additions that follow. */
export function sideBySide(
  lines: Line[],
): Array<{ left?: Line; right?: Line; full?: Line }> {
  const rows: Array<{ left?: Line; right?: Line; full?: Line }> = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (line.kind === 'header' || line.kind === 'hunk') {
      rows.push({ full: line });
      i++;
    } else if (line.kind === 'ctx') {
      rows.push({ left: line, right: line });
      i++;
    } else {
      const dels: Line[] = [];
      const adds: Line[] = [];
      while (i < lines.length && lines[i].kind === 'del') dels.push(lines[i++]);
      while (i < lines.length && lines[i].kind === 'add') adds.push(lines[i++]);
      for (let k = 0; k < Math.max(dels.length, adds.length); k++) {
        rows.push({ left: dels[k], right: adds[k] });
      }
    }
  }
  return rows;
}

const MARK: Record<Kind, string> = {
  add: '+',
  del: '-',
  ctx: ' ',
  hunk: '',
  header: '',
};

/**
 * A unified diff (a plan from kubectl diff, terraform or ansible --diff) shown unified or side by
 * side; long diffs start collapsed.
 */
export function DiffView(props: { diff: string; testId?: string }) {
  const classes = useStyles();
  const lines = props.diff.replace(/\n$/, '').split('\n').map(classify);
  const [layout, setLayout] = useState<'unified' | 'split'>('unified');
  const [expanded, setExpanded] = useState(lines.length <= COLLAPSE_AFTER);
  const shown = expanded ? lines : lines.slice(0, COLLAPSE_AFTER);
  const kindClass: Record<Kind, string> = {
    add: classes.add,
    del: classes.del,
    hunk: classes.hunk,
    header: classes.header,
    ctx: '',
  };
  const cls = (l?: Line) => `${classes.cell} ${l ? kindClass[l.kind] : ''}`;
  return (
    <Box my={0.5}>
      <Box display="flex" flexWrap="wrap" alignItems="center">
        <Button
          size="small"
          aria-pressed={layout === 'split'}
          onClick={() => setLayout(layout === 'unified' ? 'split' : 'unified')}
        >
          {layout === 'unified' ? 'Side by side' : 'Unified'}
        </Button>
        {lines.length > COLLAPSE_AFTER && (
          <Button
            size="small"
            aria-expanded={expanded}
            onClick={() => setExpanded(!expanded)}
          >
            {expanded
              ? 'Collapse diff'
              : `Show all ${lines.length} lines of the diff`}
          </Button>
        )}
      </Box>
      <div className={classes.frame} data-testid={props.testId}>
        {layout === 'unified' ? (
          <table className={classes.table} aria-label="plan diff (unified)">
            <tbody>
              {shown.map((l, i) => (
                <tr key={i}>
                  <td className={cls(l)}>
                    {MARK[l.kind]}
                    {l.text}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <table
            className={classes.table}
            aria-label="plan diff (before and after)"
          >
            <thead>
              <tr>
                <th className={classes.cell}>before</th>
                <th className={classes.cell}>after</th>
              </tr>
            </thead>
            <tbody>
              {sideBySide(shown).map((row, i) =>
                row.full ? (
                  <tr key={i}>
                    <td colSpan={2} className={cls(row.full)}>
                      {row.full.text}
                    </td>
                  </tr>
                ) : (
                  <tr key={i}>
                    <td className={cls(row.left)}>{row.left?.text ?? ''}</td>
                    <td className={cls(row.right)}>{row.right?.text ?? ''}</td>
                  </tr>
                ),
              )}
            </tbody>
          </table>
        )}
      </div>
    </Box>
  );
}
