'use strict';
// At most N call sites captured per second in this process: 100 unless `poolscope attach
// --site-budget N|all` (POOLSCOPE_SITE_BUDGET) says otherwise. A capture costs the app about
// 20 µs (call-site.cjs), so under load the budget keeps the agent cheap and the borrowers
// beyond it are "not sampled"; an app borrowing fewer than N a second has every site. A
// token bucket, holding up to one second's budget: a borrow takes a token (no clock read on
// the request's path), and the channel's 50 ms timer refills it by the time that has passed.

class SiteBudget {
  constructor(perSecond, now = () => performance.now()) {
    this.perSecond = perSecond;
    this.now = now;
    this.tokens = perSecond;
    this.refilledAt = now();
  }

  /** Whether this borrow may capture its call site. */
  take() {
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }

  refill() {
    const t = this.now();
    this.tokens = Math.min(this.perSecond, this.tokens + ((t - this.refilledAt) * this.perSecond) / 1000);
    this.refilledAt = t;
  }
}

const DEFAULT_SITE_BUDGET = 100;

/** The budget the environment asks for: a whole number from 1, `all` (null: every borrow captured), else the default and why. */
function siteBudgetFrom(value) {
  if (value === undefined || value === '') return { budget: new SiteBudget(DEFAULT_SITE_BUDGET), refused: null };
  if (value === 'all') return { budget: null, refused: null };
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    return { budget: new SiteBudget(DEFAULT_SITE_BUDGET), refused: `POOLSCOPE_SITE_BUDGET must be a whole number of call sites per second from 1 or "all", not "${String(value).slice(0, 40)}": ${DEFAULT_SITE_BUDGET} a second are captured` };
  }
  return { budget: new SiteBudget(Number(value)), refused: null };
}

module.exports = { SiteBudget, siteBudgetFrom };
