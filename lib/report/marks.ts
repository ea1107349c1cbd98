/**
 * What a mark on a resource's timeline means: one class per backup, from its decision (a plan) or from the
 * deletion's outcome (a stored sweep). Kept backups are coloured by the rule that kept them — the first reason
 * the planner gives, which is the keep rule in restic's order (tags, within, last … yearly, windows), then our
 * own rules. Classes are indexes into MARK_CLASSES so that 100,000 marks cost one small number each.
 */

export interface MarkClass {
  readonly id: string;
  readonly label: string;
  readonly color: string;
  /** Drawn in the lower lane (what the sweep removes) rather than the upper one (what stays). */
  readonly goes: boolean;
  readonly shape: 'dot' | 'ring' | 'cross' | 'diamond' | 'triangle' | 'square';
}

export const MARK_CLASSES: readonly MarkClass[] = [
  { id: 'last', label: 'kept: last', color: '#1b6ca8', goes: false, shape: 'dot' },
  { id: 'hourly', label: 'kept: hourly', color: '#5fa8d3', goes: false, shape: 'dot' },
  { id: 'daily', label: 'kept: daily', color: '#2a9d8f', goes: false, shape: 'dot' },
  { id: 'weekly', label: 'kept: weekly', color: '#6a4c93', goes: false, shape: 'dot' },
  { id: 'monthly', label: 'kept: monthly', color: '#b5179e', goes: false, shape: 'dot' },
  { id: 'yearly', label: 'kept: yearly', color: '#7b2d26', goes: false, shape: 'dot' },
  { id: 'within', label: 'kept: within', color: '#43aa8b', goes: false, shape: 'dot' },
  { id: 'tags', label: 'kept: tags', color: '#577590', goes: false, shape: 'dot' },
  { id: 'younger', label: 'kept: younger than max_age', color: '#90be6d', goes: false, shape: 'dot' },
  { id: 'min_keep', label: 'kept: min_keep', color: '#f9844a', goes: false, shape: 'dot' },
  { id: 'newest', label: 'kept: newest finished', color: '#277da1', goes: false, shape: 'dot' },
  { id: 'max_gap', label: 'kept: max_gap (RPO guard)', color: '#e76f51', goes: false, shape: 'square' },
  { id: 'kept', label: 'kept: other', color: '#8d99ae', goes: false, shape: 'dot' },
  { id: 'protected', label: 'protected', color: '#c9a227', goes: false, shape: 'diamond' },
  {
    id: 'skipped',
    label: 'skipped (not deletable upstream)',
    color: '#6c757d',
    goes: false,
    shape: 'triangle',
  },
  { id: 'in_progress', label: 'in progress', color: '#4361ee', goes: false, shape: 'ring' },
  { id: 'failed', label: 'failed', color: '#d00000', goes: false, shape: 'ring' },
  { id: 'deleted', label: 'deleted', color: '#d62828', goes: true, shape: 'cross' },
  { id: 'delete_failed', label: 'deletion failed', color: '#9d0208', goes: true, shape: 'ring' },
  { id: 'pending', label: 'deletion pending', color: '#f77f00', goes: true, shape: 'triangle' },
];

export type MarkClassId = (typeof MARK_CLASSES)[number]['id'];
const indexOf = new Map(MARK_CLASSES.map((markClass, index) => [markClass.id, index]));

export function markClassIndex(id: string): number {
  const index = indexOf.get(id);
  if (index === undefined) throw new RangeError(`unknown mark class ${id}`);
  return index;
}

const RULE_PREFIXES: readonly [string, string][] = [
  ['last', 'last'],
  ['hourly within ', 'within'],
  ['daily within ', 'within'],
  ['weekly within ', 'within'],
  ['monthly within ', 'within'],
  ['yearly within ', 'within'],
  ['within ', 'within'],
  ['hourly ', 'hourly'],
  ['daily ', 'daily'],
  ['weekly ', 'weekly'],
  ['monthly ', 'monthly'],
  ['yearly ', 'yearly'],
  ['tags ', 'tags'],
  ['younger than max_age', 'younger'],
  ['min_keep', 'min_keep'],
  ['newest finished', 'newest'],
  ['max_gap ', 'max_gap'],
];

/**
 * Reasons that say upstream will not let us delete the backup now: the planner's never-candidate reasons for a
 * DDS backup marked not deletable or on a restoring instance, and a CSBS checkpoint still being copied.
 */
const NOT_DELETABLE = /^(not deletable upstream|instance restoring|copy in progress)$|not deletable/i;

/**
 * The class of a planned backup from its action and reasons; `notDeletable` when the listing says upstream
 * refuses the deletion (the backup's `not_deletable`, where the service module sets one).
 */
export function classifyDecision(
  action: 'keep' | 'delete',
  reasons: readonly string[],
  notDeletable = false,
): number {
  if (action === 'delete') return markClassIndex('deleted');
  if (notDeletable) return markClassIndex('skipped');
  const first = reasons[0] ?? '';
  if (first === 'in progress' || first === 'deleting') return markClassIndex('in_progress');
  if (first.startsWith('failed')) return markClassIndex('failed');
  if (reasons.some((reason) => reason.startsWith('protected '))) return markClassIndex('protected');
  if (reasons.some((reason) => NOT_DELETABLE.test(reason))) return markClassIndex('skipped');
  const rule = first.startsWith('oldest ') ? first.slice('oldest '.length) : first;
  for (const [prefix, id] of RULE_PREFIXES) {
    if (rule === prefix.trimEnd() || rule.startsWith(prefix)) return markClassIndex(id);
  }
  return markClassIndex('kept');
}
