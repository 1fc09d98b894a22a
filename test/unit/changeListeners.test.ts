import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChangeListeners } from '../../src/conditions/changeListeners.js';

describe('ChangeListeners', () => {
  it('calls a function subscribed twice twice, and disposing one subscription leaves the other', () => {
    const listeners = new ChangeListeners<number>();
    const heard: number[] = [];
    const listener = (value: number): void => void heard.push(value);
    const first = listeners.add(listener);
    listeners.add(listener);
    listeners.emit(1);
    first.dispose();
    listeners.emit(2);
    assert.deepEqual(heard, [1, 1, 2]);
  });

  it("hands a throwing listener's error to the hook and still calls the others; a throwing hook is swallowed", () => {
    const errors: unknown[] = [];
    const listeners = new ChangeListeners<string>((error) => {
      errors.push(error);
      throw new Error('the hook fails too');
    });
    const heard: string[] = [];
    listeners.add(() => {
      throw new Error('boom');
    });
    listeners.add((value) => void heard.push(value));
    listeners.emit('a');
    assert.deepEqual(heard, ['a']);
    assert.equal((errors[0] as Error).message, 'boom');
  });

  it('without a hook, rethrows the first error once every listener has run', () => {
    const listeners = new ChangeListeners<string>();
    const heard: string[] = [];
    listeners.add(() => {
      throw new Error('first');
    });
    listeners.add(() => {
      throw new Error('second');
    });
    listeners.add((value) => void heard.push(value));
    assert.throws(() => listeners.emit('a'), /first/);
    assert.deepEqual(heard, ['a']);
  });

  it('walks a copy: a listener added during an event hears the next one', () => {
    const listeners = new ChangeListeners<number>();
    const heard: number[] = [];
    listeners.add(() => void listeners.add((value) => void heard.push(value)));
    listeners.emit(1);
    listeners.emit(2);
    assert.deepEqual(heard, [2]);
  });
});
