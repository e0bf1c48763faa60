// Usage explorer: Audit.ListUsage with filters, paging, charts and export (pages/records.js).
import {renderRecords} from './records.js';

export function render(root, ctx) {
  return renderRecords(root, ctx, 'usage');
}
