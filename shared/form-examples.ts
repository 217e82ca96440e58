// The SQL the forms show as placeholders: each runs as written on the demo bookshop of both
// engines (tests/integration/form-examples.test.ts runs them), so a user who types what the
// placeholder suggests gets a result, not "column stock does not exist".

export const FORM_EXAMPLES = {
  /** A statement to run inside a held transaction: it takes a row lock on the book's stock. */
  txStatement: 'UPDATE inventory SET quantity = quantity - 1 WHERE book_id = 1 AND quantity > 0',
  /** The load's custom query. */
  customQuery: 'SELECT count(*) FROM books',
} as const;
