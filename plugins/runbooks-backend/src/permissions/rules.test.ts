import { Execution } from '../engine';
import { hasRunbookOwnership, isEntityOwner, isRequester } from './rules';

const execution = {
  id: 'e1',
  requester: 'user:default/alice',
  entityOwner: 'group:default/team-checkout',
  runbookOwner: 'group:default/sre',
} as Execution;

describe('execution permission rules', () => {
  it('match the requester, the target owner and the runbook owner against claims', () => {
    const alice = ['user:default/alice', 'group:default/team-checkout'];
    const bob = ['user:default/bob', 'group:default/sre'];
    expect(isRequester.apply(execution, { claims: alice })).toBe(true);
    expect(isRequester.apply(execution, { claims: bob })).toBe(false);
    expect(isEntityOwner.apply(execution, { claims: alice })).toBe(true);
    expect(isEntityOwner.apply(execution, { claims: bob })).toBe(false);
    expect(hasRunbookOwnership.apply(execution, { claims: bob })).toBe(true);
    expect(hasRunbookOwnership.apply(execution, { claims: alice })).toBe(false);
  });

  it('never match an execution recorded without an owner', () => {
    const unowned = { ...execution, entityOwner: undefined } as Execution;
    expect(isEntityOwner.apply(unowned, { claims: [''] })).toBe(false);
  });

  it('become database filters on the matching column', () => {
    expect(isRequester.toQuery({ claims: ['user:default/a'] })).toEqual({
      property: 'requester',
      values: ['user:default/a'],
    });
    expect(isEntityOwner.toQuery({ claims: ['group:default/x'] })).toEqual({
      property: 'entityOwner',
      values: ['group:default/x'],
    });
    expect(hasRunbookOwnership.toQuery({ claims: [] })).toEqual({
      property: 'runbookOwner',
      values: [],
    });
  });
});
