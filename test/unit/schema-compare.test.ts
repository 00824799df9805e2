import {
  compareSchema,
  expectedColumnType,
  liveLiteral,
  type DmmfDatamodel,
  type DmmfField,
  type LiveSchema,
  type LiveTable,
} from '../support/schema-compare';

/**
 * The schema comparison on small hand-made inputs (no database, no Prisma parser): a tiny
 * datamodel and the live description it should match, then one change at a time.
 */

function scalar(name: string, type: string, extra: Partial<DmmfField> = {}): DmmfField {
  return { name, kind: 'scalar', type, isList: false, isRequired: true, nativeType: null, ...extra };
}

/** Author 1—n Book; Book has a composite unique, an index, an enum column and a relation. */
function datamodel(): DmmfDatamodel {
  return {
    models: [
      {
        name: 'Author',
        dbName: 'authors',
        fields: [
          scalar('id', 'String', {
            nativeType: ['Uuid', []],
            hasDefaultValue: true,
            default: { name: 'uuid', args: [] },
          }),
          scalar('email', 'String', { nativeType: ['VarChar', ['320']] }),
          scalar('bio', 'String', { isRequired: false }),
          { name: 'books', kind: 'object', type: 'Book', isList: true, isRequired: true, relationFromFields: [] },
        ],
      },
      {
        name: 'Book',
        dbName: 'books',
        fields: [
          scalar('id', 'BigInt', { hasDefaultValue: true, default: { name: 'autoincrement', args: [] } }),
          scalar('authorId', 'String', { dbName: 'author_id', nativeType: ['Uuid', []] }),
          scalar('title', 'String', { hasDefaultValue: true, default: "it's untitled" }),
          scalar('pages', 'Int', { hasDefaultValue: true, default: -1 }),
          scalar('price', 'Decimal', { nativeType: ['Decimal', ['10', '2']] }),
          scalar('meta', 'Json'),
          scalar('status', 'BookStatus', { kind: 'enum', hasDefaultValue: true, default: 'DRAFT' }),
          scalar('publishedAt', 'DateTime', {
            dbName: 'published_at',
            isRequired: false,
            nativeType: ['Timestamptz', ['3']],
          }),
          scalar('createdAt', 'DateTime', {
            dbName: 'created_at',
            hasDefaultValue: true,
            default: { name: 'now', args: [] },
          }),
          {
            name: 'author',
            kind: 'object',
            type: 'Author',
            isList: false,
            isRequired: true,
            relationFromFields: ['authorId'],
            relationToFields: ['id'],
            relationOnDelete: 'Cascade',
          },
        ],
      },
    ],
    enums: [{ name: 'BookStatus', dbName: 'book_status', values: [{ name: 'DRAFT' }, { name: 'PUBLISHED' }] }],
    indexes: [
      { model: 'Author', type: 'id', fields: [{ name: 'id' }] },
      { model: 'Author', type: 'unique', fields: [{ name: 'email' }] },
      { model: 'Book', type: 'id', fields: [{ name: 'id' }] },
      { model: 'Book', type: 'unique', fields: [{ name: 'authorId' }, { name: 'title' }] },
      { model: 'Book', type: 'normal', fields: [{ name: 'createdAt' }, { name: 'status' }] },
    ],
  };
}

function authors(): LiveTable {
  return {
    name: 'authors',
    columns: [
      { name: 'id', type: 'uuid', nullable: false, default: null },
      { name: 'email', type: 'character varying(320)', nullable: false, default: null },
      { name: 'bio', type: 'text', nullable: true, default: null },
    ],
    primaryKey: { name: 'authors_pkey', columns: ['id'] },
    uniques: [{ name: 'authors_email_key', columns: ['email'] }],
    indexes: [],
    foreignKeys: [],
  };
}

function books(): LiveTable {
  return {
    name: 'books',
    columns: [
      { name: 'id', type: 'bigint', nullable: false, default: "nextval('books_id_seq'::regclass)" },
      { name: 'author_id', type: 'uuid', nullable: false, default: null },
      { name: 'title', type: 'text', nullable: false, default: "'it''s untitled'::text" },
      { name: 'pages', type: 'integer', nullable: false, default: '(-1)' },
      { name: 'price', type: 'numeric(10,2)', nullable: false, default: null },
      { name: 'meta', type: 'jsonb', nullable: false, default: null },
      { name: 'status', type: 'book_status', nullable: false, default: "'DRAFT'::book_status" },
      { name: 'published_at', type: 'timestamp(3) with time zone', nullable: true, default: null },
      { name: 'created_at', type: 'timestamp(3) without time zone', nullable: false, default: 'CURRENT_TIMESTAMP' },
    ],
    primaryKey: { name: 'books_pkey', columns: ['id'] },
    uniques: [{ name: 'books_author_id_title_key', columns: ['author_id', 'title'] }],
    indexes: [{ name: 'books_created_at_status_idx', columns: ['created_at', 'status'] }],
    foreignKeys: [
      {
        name: 'books_author_id_fkey',
        columns: ['author_id'],
        referencedTable: 'authors',
        referencedColumns: ['id'],
        onDelete: 'Cascade',
        onUpdate: 'Cascade',
      },
    ],
  };
}

function live(change: (tables: { authors: LiveTable; books: LiveTable }) => void = () => undefined): LiveSchema {
  const tables = { authors: authors(), books: books() };
  change(tables);
  return {
    tables: [tables.authors, tables.books, { ...authors(), name: '_prisma_migrations', uniques: [], primaryKey: null }],
    enums: [{ name: 'book_status', values: ['DRAFT', 'PUBLISHED'] }],
  };
}

function withField(model: string, name: string, change: Partial<DmmfField>): DmmfDatamodel {
  const dm = datamodel();
  return {
    ...dm,
    models: dm.models.map((m) =>
      m.name !== model ? m : { ...m, fields: m.fields.map((f) => (f.name === name ? { ...f, ...change } : f)) },
    ),
  };
}

function column(table: LiveTable, name: string) {
  const found = table.columns.find((c) => c.name === name);
  if (!found) throw new Error(`no column ${name}`);
  return found;
}

it('finds no difference when datamodel and database agree (and ignores _prisma_migrations)', () => {
  expect(compareSchema(datamodel(), live())).toEqual([]);
});

describe('tables and columns', () => {
  it('reports a table missing for a model, via its @@map name', () => {
    const schema = live();
    schema.tables = schema.tables.filter((t) => t.name !== 'authors');
    expect(compareSchema(datamodel(), schema)).toContain('table authors: missing in the database (model Author)');
  });

  it('reports a table no model describes', () => {
    const schema = live();
    schema.tables.push({ ...authors(), name: 'leftovers' });
    expect(compareSchema(datamodel(), schema)).toEqual([
      'table leftovers: exists in the database but no model describes it',
    ]);
  });

  it('reports a column missing for a field, via its @map name', () => {
    const schema = live(({ books }) => (books.columns = books.columns.filter((c) => c.name !== 'published_at')));
    expect(compareSchema(datamodel(), schema)).toEqual([
      'column books.published_at (Book.publishedAt): missing in the database',
    ]);
  });

  it('reports a column no field describes', () => {
    const schema = live(({ authors }) =>
      authors.columns.push({ name: 'age', type: 'integer', nullable: true, default: null }),
    );
    expect(compareSchema(datamodel(), schema)).toEqual([
      'column authors.age: exists in the database but no field of Author describes it',
    ]);
  });

  it.each([
    ['authors', 'email', 'character varying(255)', 'Author.email', 'character varying(320)'],
    ['authors', 'bio', 'character varying', 'Author.bio', 'text'],
    ['books', 'published_at', 'timestamp(6) with time zone', 'Book.publishedAt', 'timestamp(3) with time zone'],
    ['books', 'price', 'numeric(65,30)', 'Book.price', 'numeric(10,2)'],
    ['books', 'meta', 'json', 'Book.meta', 'jsonb'],
    ['books', 'status', 'text', 'Book.status', 'book_status'],
    ['books', 'id', 'integer', 'Book.id', 'bigint'],
  ] as const)('reports %s.%s with type %s', (tableName, columnName, liveType, field, expected) => {
    const schema = live((tables) => (column(tables[tableName], columnName).type = liveType));
    expect(compareSchema(datamodel(), schema)).toEqual([
      `column ${tableName}.${columnName} (${field}): type is ${liveType}, the schema says ${expected}`,
    ]);
  });

  it('reports nullability both ways', () => {
    const schema = live(({ authors }) => {
      column(authors, 'email').nullable = true;
      column(authors, 'bio').nullable = false;
    });
    expect(compareSchema(datamodel(), schema)).toEqual([
      'column authors.email (Author.email): is nullable, the schema says the opposite',
      'column authors.bio (Author.bio): is NOT NULL, the schema says the opposite',
    ]);
  });

  it('reports defaults that differ, are missing, or are not in the schema', () => {
    const schema = live(({ authors, books }) => {
      column(books, 'pages').default = '0';
      column(books, 'title').default = null;
      column(authors, 'id').default = 'gen_random_uuid()'; // uuid() is computed by the client, not the database
    });
    expect(compareSchema(datamodel(), schema)).toEqual([
      'column authors.id (Author.id): has default gen_random_uuid(), the schema has none',
      'column books.title (Book.title): has no default, the schema says "it\'s untitled"',
      'column books.pages (Book.pages): has default 0, the schema says "-1"',
    ]);
  });

  it('maps Prisma types and native types to PostgreSQL spellings', () => {
    const dm = datamodel();
    const types = [
      scalar('a', 'String'),
      scalar('b', 'Int'),
      scalar('c', 'BigInt'),
      scalar('d', 'Boolean'),
      scalar('e', 'Json'),
      scalar('f', 'Decimal'),
      scalar('g', 'DateTime'),
      scalar('h', 'String', { nativeType: ['Char', ['3']] }),
      scalar('i', 'DateTime', { nativeType: ['Timestamptz', []] }),
      scalar('j', 'String', { isList: true }),
    ].map((f) => expectedColumnType(dm, f));
    expect(types).toEqual([
      'text',
      'integer',
      'bigint',
      'boolean',
      'jsonb',
      'numeric(65,30)',
      'timestamp(3) without time zone',
      'character(3)',
      'timestamp with time zone',
      'text[]',
    ]);
  });

  it('reads literal defaults as PostgreSQL prints them', () => {
    expect(
      ["'abc'::character varying", "'it''s'::text", '(-1)', 'true', "'{}'::jsonb", "'1.5'::numeric(10,2)"].map(
        liveLiteral,
      ),
    ).toEqual(['abc', "it's", '-1', 'true', '{}', '1.5']);
  });
});

describe('keys and indexes', () => {
  it('reports a missing or different primary key', () => {
    expect(
      compareSchema(
        datamodel(),
        live(({ authors }) => (authors.primaryKey = null)),
      ),
    ).toEqual(['table authors: has no primary key, the schema says (id)']);
    const other = live(({ authors }) => (authors.primaryKey = { name: 'authors_pkey', columns: ['email'] }));
    expect(compareSchema(datamodel(), other)).toEqual(['primary key of authors: is (email), the schema says (id)']);
  });

  it('reports a unique missing, an extra one, and one with its columns in another order', () => {
    const schema = live(({ authors, books }) => {
      authors.uniques = [];
      books.uniques = [{ name: 'books_author_id_title_key', columns: ['title', 'author_id'] }];
    });
    expect(compareSchema(datamodel(), schema)).toEqual([
      'unique on authors(email): missing in the database',
      'unique on books(author_id, title): missing in the database',
      'unique books_author_id_title_key (title, author_id) on books: exists in the database but the schema lacks it',
    ]);
  });

  it('reports an @@index missing, an index the schema lacks, and a name Prisma would not give', () => {
    const schema = live(({ authors, books }) => {
      books.indexes = [];
      authors.indexes = [{ name: 'authors_bio_idx', columns: ['bio'] }];
      authors.uniques = [{ name: 'author_email_unique', columns: ['email'] }];
    });
    expect(compareSchema(datamodel(), schema)).toEqual([
      'unique author_email_unique (email) on authors: Prisma would name it authors_email_key',
      'index authors_bio_idx (bio) on authors: exists in the database but the schema lacks it',
      'index on books(created_at, status): missing in the database',
    ]);
  });

  it('does not mistake a unique index for a plain one', () => {
    const schema = live(({ books }) => {
      books.uniques.push({ name: 'books_created_at_status_idx', columns: ['created_at', 'status'] });
      books.indexes = [];
    });
    expect(compareSchema(datamodel(), schema)).toEqual([
      'unique books_created_at_status_idx (created_at, status) on books: exists in the database but the schema lacks it',
      'index on books(created_at, status): missing in the database',
    ]);
  });
});

describe('relations', () => {
  it('reports a missing foreign key and one no relation describes', () => {
    const schema = live(({ authors, books }) => {
      authors.foreignKeys = books.foreignKeys.map((fk) => ({ ...fk, name: 'authors_id_fkey', columns: ['id'] }));
      books.foreignKeys = [];
    });
    expect(compareSchema(datamodel(), schema)).toEqual([
      'foreign key authors_id_fkey on authors(id): exists in the database but no relation describes it',
      'foreign key books(author_id): missing in the database (→ authors(id))',
    ]);
  });

  it('reports another target, ON DELETE or ON UPDATE', () => {
    const schema = live(({ books }) => {
      const [fk] = books.foreignKeys;
      if (fk) Object.assign(fk, { referencedTable: 'people', onDelete: 'SetNull', onUpdate: 'NoAction' });
    });
    expect(compareSchema(datamodel(), schema)).toEqual([
      'foreign key books(author_id): references people(id), the schema says authors(id)',
      'foreign key books(author_id): ON DELETE SetNull, the schema says Cascade',
      'foreign key books(author_id): ON UPDATE NoAction, the schema says Cascade',
    ]);
  });

  it("uses Prisma's default ON DELETE when the schema names none: Restrict for a required relation", () => {
    const dm = withField('Book', 'author', { relationOnDelete: undefined });
    expect(compareSchema(dm, live())).toEqual([
      'foreign key books(author_id): ON DELETE Cascade, the schema says Restrict',
    ]);
  });
});

describe('enums', () => {
  it('reports an enum with other values, a missing one and an extra one', () => {
    const schema = live();
    schema.enums = [
      { name: 'book_status', values: ['DRAFT'] },
      { name: 'mood', values: ['happy'] },
    ];
    expect(compareSchema(datamodel(), schema)).toEqual([
      'enum book_status: has values (DRAFT), the schema says (DRAFT, PUBLISHED)',
      'enum mood: exists in the database but the schema lacks it',
    ]);
  });
});
