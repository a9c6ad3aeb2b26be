import { ConfigReader } from '@backstage/config';
import { ConfigOnCallProvider } from './ConfigOnCallProvider';

function provider(teams: unknown[]) {
  return ConfigOnCallProvider.fromConfig(
    new ConfigReader({
      runbooks: { onCall: { teams } },
    } as ConstructorParameters<typeof ConfigReader>[0]),
  );
}

async function usersAt(p: ConfigOnCallProvider, at: string, group = 'team') {
  const schedule = await p.getOnCall(`group:default/${group}`, new Date(at));
  return schedule?.levels.map(level => level.users);
}

describe('ConfigOnCallProvider', () => {
  const weekly = provider([
    {
      group: 'team',
      levels: [
        {
          escalateAfter: '10m',
          rotations: [
            {
              users: ['alice', 'user:default/bob', 'carol'],
              handoff: '1w',
              start: '2026-01-05T09:00:00Z',
            },
          ],
        },
        { rotations: [{ users: ['dave'] }] },
      ],
    },
  ]);

  it('returns the levels of a group, with refs in full', async () => {
    await expect(
      weekly.getOnCall('group:default/team', new Date('2026-01-05T09:00:00Z')),
    ).resolves.toEqual({
      groupRef: 'group:default/team',
      levels: [
        { level: 1, users: ['user:default/alice'], escalateAfterMs: 600_000 },
        { level: 2, users: ['user:default/dave'], escalateAfterMs: 0 },
      ],
    });
  });

  it('hands off exactly at the boundary', async () => {
    expect(await usersAt(weekly, '2026-01-12T08:59:59.999Z')).toEqual([
      ['user:default/alice'],
      ['user:default/dave'],
    ]);
    expect(await usersAt(weekly, '2026-01-12T09:00:00.000Z')).toEqual([
      ['user:default/bob'],
      ['user:default/dave'],
    ]);
    expect(await usersAt(weekly, '2026-01-19T09:00:00Z')).toEqual([
      ['user:default/carol'],
      ['user:default/dave'],
    ]);
    // Three weeks in, the rotation is back at its first user.
    expect(await usersAt(weekly, '2026-01-26T09:00:00Z')).toEqual([
      ['user:default/alice'],
      ['user:default/dave'],
    ]);
  });

  it('continues the cycle backwards before the start', async () => {
    expect(await usersAt(weekly, '2026-01-05T08:59:59.999Z')).toEqual([
      ['user:default/carol'],
      ['user:default/dave'],
    ]);
    expect(await usersAt(weekly, '2025-12-29T08:59:59.999Z')).toEqual([
      ['user:default/bob'],
      ['user:default/dave'],
    ]);
  });

  it('hands off weekly on Mondays at midnight UTC by default', async () => {
    const p = provider([
      { group: 'team', levels: [{ rotations: [{ users: ['a', 'b'] }] }] },
    ]);
    // 2026-01-04 is a Sunday, 2026-01-05 a Monday; 1970-01-05 to 2026-01-05 is 2922 weeks.
    expect(await usersAt(p, '2026-01-04T23:59:59.999Z')).toEqual([
      ['user:default/b'],
    ]);
    expect(await usersAt(p, '2026-01-05T00:00:00Z')).toEqual([
      ['user:default/a'],
    ]);
  });

  it('is on call only inside windows, across midnight and on listed days', async () => {
    const p = provider([
      {
        group: 'team',
        levels: [
          {
            escalateAfter: '5m',
            rotations: [
              {
                users: ['day'],
                windows: [{ days: ['mon', 'tue'], from: '09:00', to: '17:00' }],
              },
              {
                users: ['night'],
                windows: [{ days: ['fri'], from: '22:00', to: '06:00' }],
              },
              {
                users: ['weekend'],
                windows: [{ days: ['sat', 'sun'], from: '00:00', to: '24:00' }],
              },
            ],
          },
        ],
      },
    ]);
    // 2026-01-05 Monday, 2026-01-07 Wednesday, 2026-01-09 Friday, 2026-01-10 Saturday.
    expect(await usersAt(p, '2026-01-05T08:59:59Z')).toEqual([[]]);
    expect(await usersAt(p, '2026-01-05T09:00:00Z')).toEqual([
      ['user:default/day'],
    ]);
    expect(await usersAt(p, '2026-01-05T16:59:59Z')).toEqual([
      ['user:default/day'],
    ]);
    expect(await usersAt(p, '2026-01-05T17:00:00Z')).toEqual([[]]);
    expect(await usersAt(p, '2026-01-07T12:00:00Z')).toEqual([[]]);
    expect(await usersAt(p, '2026-01-09T21:59:59Z')).toEqual([[]]);
    expect(await usersAt(p, '2026-01-09T22:00:00Z')).toEqual([
      ['user:default/night'],
    ]);
    // Saturday 03:00 is still Friday's night window, and the weekend window too.
    expect(await usersAt(p, '2026-01-10T03:00:00Z')).toEqual([
      ['user:default/night', 'user:default/weekend'],
    ]);
    expect(await usersAt(p, '2026-01-10T06:00:00Z')).toEqual([
      ['user:default/weekend'],
    ]);
    // Friday 03:00 follows Thursday, which has no night window.
    expect(await usersAt(p, '2026-01-09T03:00:00Z')).toEqual([[]]);
    expect(await usersAt(p, '2026-01-11T23:59:59Z')).toEqual([
      ['user:default/weekend'],
    ]);
  });

  it('lists a person on several rotations of a level once', async () => {
    const p = provider([
      {
        group: 'team',
        levels: [
          {
            rotations: [
              { users: ['bob', 'alice'] },
              { users: ['carol'] },
              { users: ['user:default/bob'] },
            ],
          },
        ],
      },
    ]);
    expect(await usersAt(p, '2026-01-05T00:00:00Z')).toEqual([
      ['user:default/bob', 'user:default/carol'],
    ]);
  });

  it('accepts a short group name and finds refs case-insensitively', async () => {
    const p = provider([
      {
        group: 'group:default/team-checkout',
        levels: [{ rotations: [{ users: ['alice'] }] }],
      },
    ]);
    const at = new Date('2026-01-05T00:00:00Z');
    expect((await p.getOnCall('team-checkout', at))?.groupRef).toBe(
      'group:default/team-checkout',
    );
    expect(
      (await p.getOnCall('Group:default/Team-Checkout', at))?.groupRef,
    ).toBe('group:default/team-checkout');
  });

  it('knows nothing of other groups', async () => {
    const at = new Date('2026-01-05T00:00:00Z');
    await expect(weekly.getOnCall('group:default/other', at)).resolves.toBe(
      undefined,
    );
    await expect(weekly.getOnCall('group:other/team', at)).resolves.toBe(
      undefined,
    );
    await expect(weekly.getOnCall('', at)).resolves.toBe(undefined);
    await expect(
      ConfigOnCallProvider.fromConfig(new ConfigReader({})).getOnCall(
        'group:default/team',
        at,
      ),
    ).resolves.toBe(undefined);
  });

  describe('validation', () => {
    const level = (rotation: object, extra: object = {}) => [
      { group: 'team', levels: [{ rotations: [rotation], ...extra }] },
    ];
    const key = 'runbooks.onCall.teams[0].levels[0]';

    it.each([
      [
        level({ users: ['a'] }, { escalateAfter: '10 minutes' }),
        `${key}.escalateAfter '10 minutes' is not a duration`,
      ],
      [
        level({ users: ['a'], handoff: '1 week' }),
        `${key}.rotations[0].handoff '1 week' is not a period`,
      ],
      [
        level({ users: ['a'], handoff: '0d' }),
        `${key}.rotations[0].handoff '0d' is not a period`,
      ],
      [
        level({ users: ['a'], start: 'next monday' }),
        `${key}.rotations[0].start 'next monday' is not an ISO 8601 time`,
      ],
      [
        level({ users: [] }),
        `${key}.rotations[0].users must name at least one user`,
      ],
      [
        level({ users: ['a', 'group:default/sre'] }),
        `${key}.rotations[0].users[1] 'group:default/sre' must be a user`,
      ],
      [
        level({
          users: ['a'],
          windows: [{ days: ['monday'], from: '09:00', to: '17:00' }],
        }),
        `${key}.rotations[0].windows[0].days[0] 'monday' is not a day`,
      ],
      [
        level({ users: ['a'], windows: [{ from: '9:00', to: '17:00' }] }),
        `${key}.rotations[0].windows[0].from '9:00' is not a time HH:MM`,
      ],
      [
        level({ users: ['a'], windows: [{ from: '24:00', to: '17:00' }] }),
        `${key}.rotations[0].windows[0].from '24:00' is not a time HH:MM`,
      ],
      [
        level({ users: ['a'], windows: [{ from: '09:00', to: '17:60' }] }),
        `${key}.rotations[0].windows[0].to '17:60' is not a time HH:MM`,
      ],
      [
        level({ users: ['a'], windows: [{ from: '09:00', to: '09:00' }] }),
        `${key}.rotations[0].windows[0] runs from '09:00' to '09:00', which is empty`,
      ],
      [
        [{ group: 'team', levels: [{ rotations: [] }] }],
        `${key}.rotations must have at least one rotation`,
      ],
      [
        [{ group: 'team', levels: [] }],
        'runbooks.onCall.teams[0].levels must have at least one level',
      ],
      [
        [
          { group: 'team', levels: [{ rotations: [{ users: ['a'] }] }] },
          {
            group: 'group:default/team',
            levels: [{ rotations: [{ users: ['b'] }] }],
          },
        ],
        "runbooks.onCall.teams[1].group 'group:default/team' is configured twice",
      ],
      [
        [
          {
            group: 'user:default/alice',
            levels: [{ rotations: [{ users: ['a'] }] }],
          },
        ],
        "runbooks.onCall.teams[0].group 'user:default/alice' must be a group",
      ],
    ])('rejects a wrong entry, naming its key: %#', (teams, message) => {
      expect(() => provider(teams)).toThrow(message);
    });

    it('requires escalateAfter on every level but the last', () => {
      expect(() =>
        provider([
          {
            group: 'team',
            levels: [
              { rotations: [{ users: ['a'] }] },
              { rotations: [{ users: ['b'] }] },
            ],
          },
        ]),
      ).toThrow('runbooks.onCall.teams[0].levels[0].escalateAfter');
    });
  });
});
