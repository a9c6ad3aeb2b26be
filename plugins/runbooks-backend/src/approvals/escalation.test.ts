import { mockServices } from '@backstage/backend-test-utils';
import { NotificationService } from '@backstage/plugin-notifications-node';
import {
  OnCallLevel,
  OnCallProvider,
  OnCallSchedule,
} from '@runbooks/plugin-runbooks-node';
import {
  ApprovalEscalator,
  EscalationDelivery,
  WaitingGate,
  escalationDue,
  notificationsNotifier,
} from './escalation';

const MINUTE = 60_000;
const requestedAt = new Date('2026-01-05T10:00:00Z');
const at = (ms: number) => new Date(requestedAt.getTime() + ms);

const schedule: OnCallSchedule = {
  groupRef: 'group:default/team-checkout',
  levels: [
    { level: 1, users: ['user:default/alice'], escalateAfterMs: 10 * MINUTE },
    { level: 2, users: ['user:default/bob'], escalateAfterMs: 20 * MINUTE },
    { level: 3, users: ['user:default/carol'], escalateAfterMs: 0 },
  ],
};

const levelsDue = (now: Date, notifiedLevels: number[] = []) =>
  escalationDue({ requestedAt, now, schedule, notifiedLevels }).map(
    l => l.level,
  );

describe('escalationDue', () => {
  it('makes level 1 due as soon as the approval is requested', () => {
    expect(levelsDue(at(0))).toEqual([1]);
    expect(levelsDue(at(-1))).toEqual([]);
  });

  it('makes the next level due exactly when the previous ones have had their time', () => {
    expect(levelsDue(at(10 * MINUTE - 1), [1])).toEqual([]);
    expect(levelsDue(at(10 * MINUTE), [1])).toEqual([2]);
    expect(levelsDue(at(30 * MINUTE - 1), [1, 2])).toEqual([]);
    expect(levelsDue(at(30 * MINUTE), [1, 2])).toEqual([3]);
  });

  it('skips the wait of a level with nobody on call', () => {
    const gap: OnCallSchedule = {
      ...schedule,
      levels: [
        { level: 1, users: [], escalateAfterMs: 10 * MINUTE },
        { level: 2, users: ['user:default/bob'], escalateAfterMs: 0 },
      ],
    };
    expect(
      escalationDue({
        requestedAt,
        now: at(0),
        schedule: gap,
        notifiedLevels: [],
      }).map(l => l.level),
    ).toEqual([1, 2]);
  });

  it('returns every level that came due while nobody looked, in order', () => {
    expect(levelsDue(at(10 * MINUTE))).toEqual([1, 2]);
    expect(levelsDue(at(2 * 60 * MINUTE))).toEqual([1, 2, 3]);
    expect(levelsDue(at(2 * 60 * MINUTE), [2])).toEqual([1, 3]);
  });

  it('returns nothing once every level is notified, or without a schedule', () => {
    expect(levelsDue(at(60 * MINUTE), [1, 2, 3])).toEqual([]);
    expect(
      escalationDue({
        requestedAt,
        now: at(60 * MINUTE),
        schedule: undefined,
        notifiedLevels: [],
      }),
    ).toEqual([]);
  });
});

function gate(overrides: Partial<WaitingGate> = {}): WaitingGate {
  return {
    executionId: 'ex-1',
    stepIndex: 2,
    stepId: 'scale-down',
    attempt: 1,
    entityRef: 'component:default/checkout',
    ownerRef: 'group:default/team-checkout',
    runbookRef: 'runbook:default/scale-checkout',
    requester: 'user:default/dave',
    requestedAt,
    notifiedLevels: [],
    ...overrides,
  };
}

function setup(options: {
  gates: WaitingGate[];
  now: Date;
  onCall?: OnCallProvider;
  notify?: (g: WaitingGate, l: OnCallLevel) => Promise<EscalationDelivery>;
  record?: (g: WaitingGate) => Promise<void>;
}) {
  const recorded: Array<{
    executionId: string;
    level: number;
    delivery: EscalationDelivery;
  }> = [];
  const logger = mockServices.logger.mock();
  const escalator = new ApprovalEscalator({
    onCall: options.onCall ?? {
      getOnCall: async ref =>
        ref === 'group:default/team-checkout' ? schedule : undefined,
    },
    clock: () => options.now,
    listWaitingGates: async () => options.gates,
    notify: options.notify ?? (async () => ({ delivered: true })),
    record: async (g, level, delivery) => {
      await options.record?.(g);
      recorded.push({
        executionId: g.executionId,
        level: level.level,
        delivery,
      });
      // What the store does: the gate remembers the level.
      g.notifiedLevels.push(level.level);
    },
    logger,
  });
  return { escalator, recorded, logger };
}

describe('ApprovalEscalator', () => {
  it('notifies level 1 at once and level 2 only when it is due', async () => {
    const g = gate();
    const clock = { now: at(0) };
    const notified: string[][] = [];
    const { escalator, recorded } = setup({
      gates: [g],
      get now() {
        return clock.now;
      },
      notify: async (_g, level) => {
        notified.push(level.users);
        return { delivered: true };
      },
    });

    expect((await escalator.tick()).map(e => e.level.level)).toEqual([1]);
    clock.now = at(10 * MINUTE - 1);
    expect(await escalator.tick()).toEqual([]);
    clock.now = at(10 * MINUTE);
    expect((await escalator.tick()).map(e => e.level.level)).toEqual([2]);
    expect(await escalator.tick()).toEqual([]);

    expect(notified).toEqual([['user:default/alice'], ['user:default/bob']]);
    expect(recorded).toEqual([
      { executionId: 'ex-1', level: 1, delivery: { delivered: true } },
      { executionId: 'ex-1', level: 2, delivery: { delivered: true } },
    ]);
  });

  it('catches up on two levels at once after the backend was down', async () => {
    const { escalator, recorded } = setup({
      gates: [gate()],
      now: at(15 * MINUTE),
    });
    const done = await escalator.tick();
    expect(done.map(e => e.level.level)).toEqual([1, 2]);
    expect(recorded.map(r => r.level)).toEqual([1, 2]);
  });

  it('does not notify a level again that the gate has already had', async () => {
    const notify = jest.fn(async () => ({ delivered: true }));
    const { escalator, recorded } = setup({
      gates: [gate({ notifiedLevels: [1, 2] })],
      now: at(15 * MINUTE),
      notify,
    });
    expect(await escalator.tick()).toEqual([]);
    expect(notify).not.toHaveBeenCalled();
    expect(recorded).toEqual([]);
  });

  it('records a level whose notification failed, with the error', async () => {
    const { escalator, recorded } = setup({
      gates: [gate()],
      now: at(10 * MINUTE),
      notify: async (_g, level) => {
        if (level.level === 1) {
          throw new Error('notifications backend answered 503');
        }
        return {
          delivered: false,
          error: 'nobody but the requester is on call at this level',
        };
      },
    });
    await escalator.tick();
    expect(recorded).toEqual([
      {
        executionId: 'ex-1',
        level: 1,
        delivery: {
          delivered: false,
          error: 'notifications backend answered 503',
        },
      },
      {
        executionId: 'ex-1',
        level: 2,
        delivery: {
          delivered: false,
          error: 'nobody but the requester is on call at this level',
        },
      },
    ]);
  });

  it('goes on with the other gates when one fails, and logs it', async () => {
    const { escalator, recorded, logger } = setup({
      gates: [
        gate({ executionId: 'ex-broken' }),
        gate({ executionId: 'ex-2', ownerRef: 'group:default/team-payments' }),
        gate({ executionId: 'ex-3', ownerRef: undefined }),
        gate({ executionId: 'ex-4' }),
      ],
      now: at(0),
      onCall: {
        getOnCall: async ref =>
          ref === 'group:default/team-checkout' ? schedule : undefined,
      },
      record: async g => {
        if (g.executionId === 'ex-broken') {
          throw new Error('database is read-only');
        }
      },
    });
    const done = await escalator.tick();
    expect(done.map(e => e.gate.executionId)).toEqual(['ex-4']);
    expect(recorded.map(r => r.executionId)).toEqual(['ex-4']);
    expect(logger.warn).toHaveBeenCalledWith(
      'Could not escalate a waiting approval',
      expect.objectContaining({
        executionId: 'ex-broken',
        error: 'Error: database is read-only',
      }),
    );
  });

  it('goes on with the other gates when the on-call lookup of one owner fails', async () => {
    const { escalator, recorded, logger } = setup({
      gates: [
        gate({ executionId: 'ex-1', ownerRef: 'group:default/flaky' }),
        gate({ executionId: 'ex-2' }),
      ],
      now: at(0),
      onCall: {
        getOnCall: async ref => {
          if (ref === 'group:default/flaky') {
            throw new Error('pager service unreachable');
          }
          return schedule;
        },
      },
    });
    await escalator.tick();
    expect(recorded.map(r => r.executionId)).toEqual(['ex-2']);
    expect(logger.warn).toHaveBeenCalledTimes(1);
  });
});

describe('notificationsNotifier', () => {
  const level2: OnCallLevel = {
    level: 2,
    users: ['user:default/bob', 'user:default/carol'],
    escalateAfterMs: 0,
  };

  it('sends a notification to the users of the level, linking the execution', async () => {
    const send = jest.fn(async () => {});
    const notify = notificationsNotifier(
      { send } as NotificationService,
      'https://backstage.example.com/',
    );
    await expect(notify(gate(), level2)).resolves.toEqual({ delivered: true });
    expect(send).toHaveBeenCalledWith({
      recipients: {
        type: 'entity',
        entityRef: ['user:default/bob', 'user:default/carol'],
      },
      payload: {
        title:
          'Approval needed: runbook:default/scale-checkout on component:default/checkout',
        description:
          "user:default/dave is waiting since 2026-01-05T10:00:00.000Z for an approval of step 'scale-down' (escalation level 2). https://backstage.example.com/catalog/default/component/checkout/runbooks",
        link: '/catalog/default/component/checkout/runbooks',
        severity: 'high',
        topic: 'runbooks-approval',
        scope: 'runbooks-approval:ex-1:2:1',
      },
    });
  });

  it('sends level 1 with normal severity', async () => {
    const send = jest.fn(async (_options: unknown) => {});
    await notificationsNotifier({ send }, 'http://localhost:3000')(gate(), {
      ...level2,
      level: 1,
    });
    expect(send.mock.calls[0][0]).toMatchObject({
      payload: { severity: 'normal' },
    });
  });

  it('does not deliver without notifications or without anyone on call', async () => {
    await expect(
      notificationsNotifier(undefined, 'http://localhost:3000')(gate(), level2),
    ).resolves.toEqual({
      delivered: false,
      error: 'notifications are not installed',
    });
    const send = jest.fn(async () => {});
    await expect(
      notificationsNotifier({ send }, 'http://localhost:3000')(gate(), {
        ...level2,
        users: [],
      }),
    ).resolves.toEqual({
      delivered: false,
      error: 'nobody but the requester is on call at this level',
    });
    // the requester (dave) on call is not asked to approve his own run
    await expect(
      notificationsNotifier({ send }, 'http://localhost:3000')(gate(), {
        ...level2,
        users: ['user:default/dave'],
      }),
    ).resolves.toEqual({
      delivered: false,
      error: 'nobody but the requester is on call at this level',
    });
    expect(send).not.toHaveBeenCalled();
    await notificationsNotifier({ send }, 'http://localhost:3000')(gate(), {
      ...level2,
      users: ['user:default/dave', 'user:default/bob'],
    });
    expect(send).toHaveBeenCalledWith(
      expect.objectContaining({
        recipients: { type: 'entity', entityRef: ['user:default/bob'] },
      }),
    );
  });
});
