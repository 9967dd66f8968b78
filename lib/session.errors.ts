/** Thrown at startup when SessionModule options are invalid; lists every problem at once. */
export class SessionOptionsError extends Error {
  readonly problems: readonly string[];

  private constructor(message: string, problems: string[]) {
    super(message);
    this.name = 'SessionOptionsError';
    this.problems = problems;
  }

  static create(problems: string[]): SessionOptionsError {
    const list = problems.map((p) => `  - ${p}`).join('\n');
    return new SessionOptionsError(
      `Invalid SessionModule options:\n${list}\n` +
        'Potential solutions: fix the options passed to SessionModule.forRoot() / forRootAsync(); ' +
        "generate a secret with `node -e \"console.log(require('crypto').randomBytes(32).toString('base64url'))\"`.",
      problems,
    );
  }
}
