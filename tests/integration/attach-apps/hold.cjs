// How long a test app holds a connection: HOLD_MS milliseconds, or with HOLD_MS=stdin until its
// stdin ends: a test reading the screen meanwhile ends it when done, however slow the machine.
module.exports = function hold() {
  const value = process.env.HOLD_MS ?? '0';
  if (value === 'stdin') {
    return new Promise((resolve) => {
      process.stdin.on('end', resolve);
      process.stdin.resume();
    });
  }
  return new Promise((resolve) => setTimeout(resolve, Number(value)));
};
