import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ALLOWED_TRANSITIONS,
  createMemoryLedger,
  DeletionStatusSchema,
  IllegalTransitionError,
  LedgerConflictError,
} from '../../lib/ledger/index.ts';
import { cbrDeletion, TestClock } from './contract.ts';

const status = fc.constantFrom(...DeletionStatusSchema.options);

describe('deletion transitions (property)', () => {
  it('keeps status, history and attempts consistent under any sequence of requested moves', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ from: fc.uniqueArray(status, { minLength: 1, maxLength: 3 }), to: status }), {
          maxLength: 25,
        }),
        async (moves) => {
          const clock = new TestClock();
          const ledger = createMemoryLedger({ now: clock.read });
          const { record } = await ledger.beginDeletion(cbrDeletion('b-prop'));
          let expected = record;
          for (const move of moves) {
            clock.advance(1);
            const legal = move.from.every((from) => ALLOWED_TRANSITIONS[from].includes(move.to));
            try {
              expected = await ledger.transition(record.id, move);
              expect(legal && move.from.includes(expected.history.at(-2)?.status ?? 'requested')).toBe(true);
            } catch (error) {
              if (!legal) expect(error).toBeInstanceOf(IllegalTransitionError);
              else expect(error).toBeInstanceOf(LedgerConflictError);
            }
          }
          const stored = await ledger.get(record.id);
          expect(stored).toEqual(expected);
          expect(stored?.status).toBe(stored?.history.at(-1)?.status);
          expect(stored?.attempts).toBe(stored?.history.filter((entry) => entry.status === 'sent').length);
          // Nothing ever leaves done or gone.
          const finalAt =
            stored?.history.findIndex((entry) => entry.status === 'done' || entry.status === 'gone') ?? -1;
          if (finalAt >= 0) expect(stored?.history).toHaveLength(finalAt + 1);
        },
      ),
      { numRuns: 200 },
    );
  });
});
