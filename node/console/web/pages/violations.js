// Violations: Audit.ListViolations with filters including the violated term, and each record's
// reasons (pages/records.js).
import {renderRecords} from './records.js';

export function render(root, ctx) {
  return renderRecords(root, ctx, 'violations');
}
