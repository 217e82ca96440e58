/**
 * The demo bookshop for MySQL/MariaDB (the embedded PostgreSQL has its own in
 * embedded/demo-schema.ts): the same four tables, filled from a digits cross join
 * (portable across MySQL 8 and MariaDB, no recursion limits), one statement at a time.
 */
const DIGITS = 'SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9';
const NUMBERS = `SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 1 AS n FROM (${DIGITS}) a CROSS JOIN (${DIGITS}) b CROSS JOIN (${DIGITS}) c CROSS JOIN (${DIGITS}) e`;

export const MYSQL_DEMO_SCHEMA: readonly string[] = [
  `CREATE TABLE books (
     id INT AUTO_INCREMENT PRIMARY KEY,
     isbn VARCHAR(32) NOT NULL UNIQUE,
     title VARCHAR(200) NOT NULL,
     author VARCHAR(100) NOT NULL,
     price DECIMAL(8, 2) NOT NULL,
     published_year INT NOT NULL
   ) ENGINE = InnoDB`,
  `CREATE TABLE inventory (
     book_id INT PRIMARY KEY,
     quantity INT NOT NULL,
     updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
     FOREIGN KEY (book_id) REFERENCES books (id)
   ) ENGINE = InnoDB`,
  `CREATE TABLE orders (
     id INT AUTO_INCREMENT PRIMARY KEY,
     customer VARCHAR(100) NOT NULL,
     created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
     status VARCHAR(16) NOT NULL DEFAULT 'pending'
   ) ENGINE = InnoDB`,
  `CREATE TABLE order_items (
     order_id INT NOT NULL,
     book_id INT NOT NULL,
     quantity INT NOT NULL,
     price DECIMAL(8, 2) NOT NULL,
     PRIMARY KEY (order_id, book_id),
     FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE,
     FOREIGN KEY (book_id) REFERENCES books (id)
   ) ENGINE = InnoDB`,
  `INSERT INTO books (isbn, title, author, price, published_year)
   SELECT CONCAT('978-1-', LPAD(n, 5, '0')), CONCAT('Book ', n), CONCAT('Author ', n % 97), 5 + (n * 37 % 4500) / 100, 1950 + n % 75
   FROM (${NUMBERS}) AS nums WHERE n <= 2000 ORDER BY n`,
  'INSERT INTO inventory (book_id, quantity) SELECT id, id * 37 % 50 FROM books',
  `INSERT INTO orders (customer, status)
   SELECT CONCAT('customer', LPAD(n * 37 % 250 + 1, 3, '0'), '@example.com'), IF(n % 20 = 0, 'cancelled', 'shipped')
   FROM (${NUMBERS}) AS nums WHERE n <= 1000 ORDER BY n`,
  'INSERT INTO order_items (order_id, book_id, quantity, price) SELECT o.id, b.id, 1 + o.id % 3, b.price FROM orders o JOIN books b ON b.id = (o.id * 7) % 2000 + 1',
];
