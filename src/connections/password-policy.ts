// Auth0's database-connection password policy: the five strength levels plus
// the dictionary, personal-info and history options. The rule codes and
// messages are the ones Auth0 returns inside PasswordStrengthError.

export interface Rule { message: string; format?: unknown[]; code: string; verified: boolean; items?: Rule[] }

const COMMON = new Set(['password', 'password1', 'password123', '123456', '12345678', '123456789', 'qwerty', 'qwerty123', 'letmein', 'welcome', 'admin', 'iloveyou', 'monkey', 'dragon', 'abc123', 'football', 'baseball', 'sunshine', 'princess', 'passw0rd', 'Password1', 'Password123', 'Passw0rd!']);

const LEVELS: Record<string, { min: number; classes: number; required?: boolean; identical?: boolean }> = {
  none: { min: 1, classes: 0 },
  low: { min: 6, classes: 0 },
  fair: { min: 8, classes: 3, required: true },
  good: { min: 8, classes: 3 },
  excellent: { min: 10, classes: 3, identical: true },
};

export interface PolicyInput { password: string; email?: string | null; username?: string | null; name?: string | null; given_name?: string | null; family_name?: string | null; history?: string[] }

export function checkPassword(options: any, input: PolicyInput): { ok: boolean; rules: Rule[]; policy: string; code?: string } {
  const level = LEVELS[options?.passwordPolicy ?? 'good'] ?? LEVELS.good;
  const min = Math.max(level.min, Number(options?.password_complexity_options?.min_length ?? 0));
  const pw = input.password;
  const rules: Rule[] = [{ message: 'At least %d characters in length', format: [min], code: 'lengthAtLeast', verified: [...pw].length >= min }];
  if (level.classes) {
    const classes = [
      { message: 'lower case letters (a-z)', code: 'lowerCase', verified: /[a-z]/.test(pw) },
      { message: 'upper case letters (A-Z)', code: 'upperCase', verified: /[A-Z]/.test(pw) },
      { message: 'numbers (i.e. 0-9)', code: 'numbers', verified: /[0-9]/.test(pw) },
      ...(level.required ? [] : [{ message: 'special characters (e.g. !@#$%^&*)', code: 'specialCharacters', verified: /[^a-zA-Z0-9]/.test(pw) }]),
    ];
    const count = classes.filter((c) => c.verified).length;
    rules.push(level.required
      ? { message: 'Contain at least %d of the following %d types of characters:', format: [3, 3], code: 'containsAtLeast', verified: count === 3, items: classes }
      : { message: 'Contain at least %d of the following %d types of characters:', format: [3, 4], code: 'containsAtLeast', verified: count >= 3, items: classes });
  }
  if (level.identical) {
    rules.push({ message: 'No more than %d identical characters in a row (e.g., "%s" not allowed)', format: [2, 'aaa'], code: 'identicalChars', verified: !/(.)\1\1/.test(pw) });
  }
  let code: string | undefined;
  const ok = rules.every((r) => r.verified);
  if (!ok) code = 'invalid_password';
  if (ok && options?.password_dictionary?.enable) {
    const custom: string[] = options.password_dictionary.dictionary ?? [];
    if (COMMON.has(pw) || COMMON.has(pw.toLowerCase()) || custom.some((w) => w.toLowerCase() === pw.toLowerCase())) code = 'password_dictionary_error';
  }
  if (!code && options?.password_no_personal_info?.enable) {
    const lower = pw.toLowerCase();
    const parts = [input.email?.split('@')[0], input.username, input.name, input.given_name, input.family_name]
      .filter((p): p is string => !!p && p.length >= 3).map((p) => p.toLowerCase());
    if (parts.some((p) => lower.includes(p))) code = 'password_no_user_info_error';
  }
  const fill = (r: Rule) => { let i = 0; return r.message.replace(/%[ds]/g, () => String(r.format?.[i++] ?? '')); };
  const policy = rules.map((r) => `* ${fill(r)}`).join('\n');
  return { ok: !code, rules, policy, code };
}

export function historySize(options: any): number {
  return options?.password_history?.enable ? Math.max(0, Math.min(24, Number(options.password_history.size ?? 5))) : 0;
}
