/**
 * One escalation level of a team's on-call schedule.
 * @public
 */
export interface OnCallLevel {
  /** Position in the escalation order, starting at 1. */
  level: number;
  /** User entity refs on call at this level; empty when nobody is. */
  users: string[];
  /** How long this level has before the next level is notified, in milliseconds. */
  escalateAfterMs: number;
}

/**
 * Who is on call for a group at one moment, level by level.
 * @public
 */
export interface OnCallSchedule {
  /** The group entity ref the schedule belongs to. */
  groupRef: string;
  /** The escalation levels, level 1 first. */
  levels: OnCallLevel[];
}

/**
 * Answers who is on call for a group at a given time.
 * @public
 */
export interface OnCallProvider {
  /** The schedule of the group at `at`, or undefined when the group has none. */
  getOnCall(groupRef: string, at: Date): Promise<OnCallSchedule | undefined>;
}
