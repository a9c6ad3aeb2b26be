import Chip from '@material-ui/core/Chip';
import { statusColour } from './format';

/** An execution's or step's status as a coloured chip (the text says it too). */
export function StatusChip(props: { status: string; testId?: string }) {
  const colour = statusColour(props.status);
  return (
    <Chip
      size="small"
      label={props.status}
      data-testid={props.testId}
      style={{ color: '#fff', backgroundColor: colour }}
    />
  );
}
