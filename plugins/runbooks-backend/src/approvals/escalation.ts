import { LoggerService } from '@backstage/backend-plugin-api';
import { parseEntityRef } from '@backstage/catalog-model';
import { NotificationService } from '@backstage/plugin-notifications-node';
import {
  OnCallLevel,
  OnCallProvider,
  OnCallSchedule,
} from '@runbooks/plugin-runbooks-node';

/** An approval gate of a running execution that waits for a decision. */
export interface WaitingGate {
  executionId: string;
  stepIndex: number;
  stepId: string;
  attempt: number;
  /** The target entity of the execution. */
  entityRef: string;
  /** The group owning the target, whose on-call people are asked to decide. */
  ownerRef?: string;
  runbookRef: string;
  /** The user who started the execution. */
  requester: string;
  requestedAt: Date;
  /** Levels already notified for this gate (whether or not delivery worked). */
  notifiedLevels: number[];
}

/** The outcome of notifying one level about one gate. */
export interface EscalationDelivery {
  delivered: boolean;
  error?: string;
}

/** Tells one level of on-call people that a gate waits for them. */
export type EscalationNotifier = (
  gate: WaitingGate,
  level: OnCallLevel,
) => Promise<EscalationDelivery>;

/** One level notified about one gate by {@link ApprovalEscalator.tick}. */
export interface Escalation {
  gate: WaitingGate;
  level: OnCallLevel;
  delivery: EscalationDelivery;
}

/**
 * The levels of `schedule` due for a gate requested at `requestedAt` and not notified yet, in order.
 * Level 1 is due at once, level k+1 when levels 1..k have had their `escalateAfterMs`; when ticks
 * were missed (the backend was down), several levels can be due together.
 */
export function escalationDue(options: {
  requestedAt: Date;
  now: Date;
  schedule: OnCallSchedule | undefined;
  notifiedLevels: number[];
}): OnCallLevel[] {
  const { requestedAt, now, schedule, notifiedLevels } = options;
  const due: OnCallLevel[] = [];
  let dueAt = requestedAt.getTime();
  for (const level of [...(schedule?.levels ?? [])].sort(
    (a, b) => a.level - b.level,
  )) {
    if (now.getTime() < dueAt) {
      break;
    }
    if (!notifiedLevels.includes(level.level)) {
      due.push(level);
    }
    // nobody on call at this level (outside its windows): the next level is due at once
    dueAt += level.users.length === 0 ? 0 : level.escalateAfterMs;
  }
  return due;
}

/**
 * Notifies the on-call levels of the owners of waiting approval gates as they become due, and
 * records each notification so that it is sent once. Run {@link ApprovalEscalator.tick}
 * periodically.
 */
export class ApprovalEscalator {
  private readonly onCall: OnCallProvider;
  private readonly clock: () => Date;
  private readonly listWaitingGates: () => Promise<WaitingGate[]>;
  private readonly notify: EscalationNotifier;
  private readonly record: (
    gate: WaitingGate,
    level: OnCallLevel,
    delivery: EscalationDelivery,
  ) => Promise<void>;
  private readonly logger: LoggerService;

  constructor(options: {
    onCall: OnCallProvider;
    clock?: () => Date;
    listWaitingGates: () => Promise<WaitingGate[]>;
    notify: EscalationNotifier;
    record: (
      gate: WaitingGate,
      level: OnCallLevel,
      delivery: EscalationDelivery,
    ) => Promise<void>;
    logger: LoggerService;
  }) {
    this.onCall = options.onCall;
    this.clock = options.clock ?? (() => new Date());
    this.listWaitingGates = options.listWaitingGates;
    this.notify = options.notify;
    this.record = options.record;
    this.logger = options.logger;
  }

  /** Notifies every level that is due for a waiting gate; returns what it notified. */
  async tick(): Promise<Escalation[]> {
    const gates = await this.listWaitingGates();
    const now = this.clock();
    const schedules = new Map<string, Promise<OnCallSchedule | undefined>>();
    const done: Escalation[] = [];
    for (const gate of gates) {
      if (!gate.ownerRef) {
        continue;
      }
      try {
        if (!schedules.has(gate.ownerRef)) {
          schedules.set(
            gate.ownerRef,
            this.onCall.getOnCall(gate.ownerRef, now),
          );
        }
        const schedule = await schedules.get(gate.ownerRef);
        for (const level of escalationDue({
          requestedAt: gate.requestedAt,
          now,
          schedule,
          notifiedLevels: gate.notifiedLevels,
        })) {
          const delivery = await this.deliver(gate, level);
          // Recorded even when delivery failed, so that the next level still follows in time.
          await this.record(gate, level, delivery);
          done.push({ gate, level, delivery });
          this.logger.info('Escalated a waiting approval', {
            executionId: gate.executionId,
            stepId: gate.stepId,
            level: level.level,
            users: level.users.join(','),
            delivered: delivery.delivered,
            ...(delivery.error ? { deliveryError: delivery.error } : {}),
          });
        }
      } catch (error) {
        this.logger.warn('Could not escalate a waiting approval', {
          executionId: gate.executionId,
          stepId: gate.stepId,
          ownerRef: gate.ownerRef,
          error: String(error),
        });
      }
    }
    return done;
  }

  private async deliver(
    gate: WaitingGate,
    level: OnCallLevel,
  ): Promise<EscalationDelivery> {
    try {
      return await this.notify(gate, level);
    } catch (error) {
      return {
        delivered: false,
        error: error instanceof Error ? error.message : String(error),
      };
    }
  }
}

/**
 * An {@link EscalationNotifier} sending a Backstage notification to a level's users, linking to the
 * execution. `baseUrl` is the app's base URL, for the absolute link in the description that
 * notification processors (email, chat) forward.
 */
export function notificationsNotifier(
  notifications: NotificationService | undefined,
  baseUrl: string,
): EscalationNotifier {
  return async (gate, level) => {
    if (!notifications) {
      return { delivered: false, error: 'notifications are not installed' };
    }
    // the requester waits for someone else: they are not asked to approve their own run
    const recipients = level.users.filter(u => u !== gate.requester);
    if (recipients.length === 0) {
      return {
        delivered: false,
        error: 'nobody but the requester is on call at this level',
      };
    }
    // the entity's Runbooks tab lists the waiting execution with its gate
    const target = parseEntityRef(gate.entityRef);
    const link = `/catalog/${target.namespace}/${target.kind.toLocaleLowerCase(
      'en-US',
    )}/${target.name}/runbooks`;
    await notifications.send({
      recipients: { type: 'entity', entityRef: recipients },
      payload: {
        title: `Approval needed: ${gate.runbookRef} on ${gate.entityRef}`,
        description: `${
          gate.requester
        } is waiting since ${gate.requestedAt.toISOString()} for an approval of step '${
          gate.stepId
        }' (escalation level ${level.level}). ${baseUrl.replace(
          /\/+$/,
          '',
        )}${link}`,
        link,
        severity: level.level > 1 ? 'high' : 'normal',
        topic: 'runbooks-approval',
        // One notification per gate: a later level updates it for people on several levels.
        scope: `runbooks-approval:${gate.executionId}:${gate.stepIndex}:${gate.attempt}`,
      },
    });
    return { delivered: true };
  };
}
