import { parseEntityRef, stringifyEntityRef } from '@backstage/catalog-model';
import { Config } from '@backstage/config';
import { parseDuration } from '@runbooks/plugin-runbooks-common';
import { OnCallLevel, OnCallProvider, OnCallSchedule } from './types';

const MINUTE = 60_000;
const DAY = 86_400_000;
const WEEK = 7 * DAY;
const DAYS: Record<string, number> = {
  sun: 0,
  mon: 1,
  tue: 2,
  wed: 3,
  thu: 4,
  fri: 5,
  sat: 6,
};
const ALL_DAYS = Object.values(DAYS);
const HH_MM = /^([01]\d|2[0-3]):([0-5]\d)$/;
const ISO_TIME =
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;
const DEFAULT_HANDOFF = '1w';
// A Monday, so weekly handoffs happen on Mondays at midnight UTC unless a start is given.
const DEFAULT_START = '1970-01-05T00:00:00Z';

interface OnCallWindow {
  days: Set<number>;
  /** Milliseconds after midnight UTC. */
  fromMs: number;
  /** Milliseconds after midnight UTC; below fromMs when the window runs across midnight. */
  toMs: number;
}

interface Rotation {
  users: string[];
  handoffMs: number;
  startMs: number;
  windows: OnCallWindow[];
}

interface Team {
  groupRef: string;
  levels: Array<{ escalateAfterMs: number; rotations: Rotation[] }>;
}

/**
 * An {@link OnCallProvider} over the rotations configured under `runbooks.onCall.teams`.
 *
 * A rotation hands off every `handoff` from `start`, going round its users in order, and is on call
 * only inside its `windows` (UTC; none means always). A level's users are the union of its
 * rotations' current persons; a level with nobody on call is still returned, with no users.
 * @public
 */
export class ConfigOnCallProvider implements OnCallProvider {
  /** Reads and validates `runbooks.onCall`; throws naming the key of a wrong entry. */
  static fromConfig(config: Config): ConfigOnCallProvider {
    const teams = new Map<string, Team>();
    for (const [i, team] of (
      config.getOptionalConfigArray('runbooks.onCall.teams') ?? []
    ).entries()) {
      const key = `runbooks.onCall.teams[${i}]`;
      const groupRef = readRef(
        team.getString('group'),
        'group',
        `${key}.group`,
      );
      if (teams.has(groupRef.toLocaleLowerCase('en-US'))) {
        throw new Error(`${key}.group '${groupRef}' is configured twice`);
      }
      const levels = team.getConfigArray('levels');
      if (levels.length === 0) {
        throw new Error(`${key}.levels must have at least one level`);
      }
      teams.set(groupRef.toLocaleLowerCase('en-US'), {
        groupRef,
        levels: levels.map((level, j) =>
          readLevel(level, `${key}.levels[${j}]`, j === levels.length - 1),
        ),
      });
    }
    return new ConfigOnCallProvider(teams);
  }

  private constructor(private readonly teams: Map<string, Team>) {}

  async getOnCall(
    groupRef: string,
    at: Date,
  ): Promise<OnCallSchedule | undefined> {
    let ref: string;
    try {
      ref = stringifyEntityRef(
        parseEntityRef(groupRef, {
          defaultKind: 'group',
          defaultNamespace: 'default',
        }),
      );
    } catch {
      return undefined;
    }
    const team = this.teams.get(ref.toLocaleLowerCase('en-US'));
    if (!team) {
      return undefined;
    }
    const t = at.getTime();
    return {
      groupRef: team.groupRef,
      levels: team.levels.map(
        (level, j): OnCallLevel => ({
          level: j + 1,
          users: [
            ...new Set(
              level.rotations.flatMap(rotation => {
                const user = onCallAt(rotation, t);
                return user ? [user] : [];
              }),
            ),
          ],
          escalateAfterMs: level.escalateAfterMs,
        }),
      ),
    };
  }
}

function onCallAt(rotation: Rotation, t: number): string | undefined {
  if (
    rotation.windows.length > 0 &&
    !rotation.windows.some(window => inWindow(window, t))
  ) {
    return undefined;
  }
  const n = rotation.users.length;
  const slot = Math.floor((t - rotation.startMs) / rotation.handoffMs);
  // A true modulo, so the slots before start continue the cycle backwards.
  return rotation.users[((slot % n) + n) % n];
}

function inWindow(window: OnCallWindow, t: number): boolean {
  const day = new Date(t).getUTCDay();
  const msOfDay = ((t % DAY) + DAY) % DAY;
  if (window.fromMs < window.toMs) {
    return (
      window.days.has(day) && msOfDay >= window.fromMs && msOfDay < window.toMs
    );
  }
  // Across midnight, the hours after midnight belong to the day the window started on.
  return (
    (window.days.has(day) && msOfDay >= window.fromMs) ||
    (window.days.has((day + 6) % 7) && msOfDay < window.toMs)
  );
}

function readLevel(
  level: Config,
  key: string,
  last: boolean,
): Team['levels'][number] {
  const escalateAfter = last
    ? level.getOptionalString('escalateAfter')
    : level.getString('escalateAfter');
  const rotations = level.getConfigArray('rotations');
  if (rotations.length === 0) {
    throw new Error(`${key}.rotations must have at least one rotation`);
  }
  return {
    // The last level has nobody to escalate to, so its escalateAfter may be left out.
    escalateAfterMs:
      escalateAfter === undefined
        ? 0
        : readDuration(escalateAfter, `${key}.escalateAfter`),
    rotations: rotations.map((rotation, k) =>
      readRotation(rotation, `${key}.rotations[${k}]`),
    ),
  };
}

function readRotation(rotation: Config, key: string): Rotation {
  const users = rotation
    .getStringArray('users')
    .map((user, u) => readRef(user, 'user', `${key}.users[${u}]`));
  if (users.length === 0) {
    throw new Error(`${key}.users must name at least one user`);
  }
  const handoff = rotation.getOptionalString('handoff') ?? DEFAULT_HANDOFF;
  const handoffMs = readPeriod(handoff, `${key}.handoff`);
  const start = rotation.getOptionalString('start') ?? DEFAULT_START;
  const startMs = Date.parse(start);
  if (!ISO_TIME.test(start) || Number.isNaN(startMs)) {
    throw new Error(
      `${key}.start '${start}' is not an ISO 8601 time such as 2026-01-05T09:00:00Z`,
    );
  }
  return {
    users,
    handoffMs,
    startMs,
    windows: (rotation.getOptionalConfigArray('windows') ?? []).map(
      (window, w) => readWindow(window, `${key}.windows[${w}]`),
    ),
  };
}

function readWindow(window: Config, key: string): OnCallWindow {
  const days = (window.getOptionalStringArray('days') ?? []).map((day, d) => {
    const n = DAYS[day.toLocaleLowerCase('en-US')];
    if (n === undefined) {
      throw new Error(
        `${key}.days[${d}] '${day}' is not a day (mon, tue, wed, thu, fri, sat, sun)`,
      );
    }
    return n;
  });
  const from = window.getString('from');
  const to = window.getString('to');
  const fromMs = readTimeOfDay(from, `${key}.from`, false);
  const toMs = readTimeOfDay(to, `${key}.to`, true);
  if (fromMs === toMs) {
    throw new Error(
      `${key} runs from '${from}' to '${to}', which is empty; use 00:00 to 24:00 for a whole day`,
    );
  }
  return {
    days: new Set(days.length > 0 ? days : ALL_DAYS),
    fromMs,
    toMs,
  };
}

function readTimeOfDay(value: string, key: string, end: boolean): number {
  if (end && value === '24:00') {
    return DAY;
  }
  const match = HH_MM.exec(value);
  if (!match) {
    throw new Error(
      `${key} '${value}' is not a time HH:MM in UTC${end ? ' (or 24:00)' : ''}`,
    );
  }
  return (Number(match[1]) * 60 + Number(match[2])) * MINUTE;
}

function readRef(value: string, kind: 'user' | 'group', key: string): string {
  let ref;
  try {
    ref = parseEntityRef(value, {
      defaultKind: kind,
      defaultNamespace: 'default',
    });
  } catch (error) {
    throw new Error(`${key} '${value}' is not an entity ref: ${error}`);
  }
  if (ref.kind.toLocaleLowerCase('en-US') !== kind) {
    throw new Error(
      `${key} '${value}' must be a ${kind} (${kind}:default/name or a bare name), not a ${ref.kind}`,
    );
  }
  return stringifyEntityRef(ref);
}

function readDuration(value: string, key: string): number {
  try {
    return parseDuration(value);
  } catch {
    throw new Error(
      `${key} '${value}' is not a duration such as 30s, 10m, 1h30m`,
    );
  }
}

// parseDuration knows no weeks, and a week is the usual handoff, so a leading `<n>w` is taken here.
function readPeriod(value: string, key: string): number {
  const weeks = /^(\d+)w(.*)$/.exec(value);
  let ms: number | undefined;
  try {
    ms = weeks
      ? Number(weeks[1]) * WEEK + (weeks[2] ? parseDuration(weeks[2]) : 0)
      : parseDuration(value);
  } catch {
    ms = undefined;
  }
  if (!ms) {
    throw new Error(
      `${key} '${value}' is not a period such as 1w, 1d, 12h (it must be longer than zero)`,
    );
  }
  return ms;
}
