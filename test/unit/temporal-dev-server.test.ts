import { devServerArgs, searchAttributeArgs } from '../../dev/temporal-dev-server';
import { shopflowSearchAttributes } from '../../workflows/orders/search-attributes';

describe('Temporal dev server arguments', () => {
  it('registers every custom search attribute with its CLI type name', () => {
    const args = searchAttributeArgs();
    expect(args.filter((a) => a === '--search-attribute')).toHaveLength(shopflowSearchAttributes.length);
    expect(args).toContain('SellerIds=KeywordList');
    expect(args).toContain('OrderTotal=Int');
  });

  it('keeps a SQLite file in WAL mode without fsync when a file is given', () => {
    const args = devServerArgs({
      ip: '127.0.0.1',
      port: 7233,
      uiPort: 8233,
      namespace: 'default',
      dbFilename: '/d/t.db',
    });
    expect(args.join(' ')).toContain(
      '--db-filename /d/t.db --sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=off',
    );
  });

  it('runs in memory with the UI on when no file is given', () => {
    const args = devServerArgs({ ip: '127.0.0.1', port: 7233, uiPort: 8233, namespace: 'default' });
    expect(args).not.toContain('--db-filename');
    expect(args).not.toContain('--headless');
    expect(args.join(' ')).toContain('--ui-port 8233');
  });
});
