import { z } from 'zod';

// A target typed as fields rather than a URL (the target panel's form, a scenario).
export const targetFieldsSchema = z.object({
  engine: z.enum(['postgres', 'mysql']),
  host: z.string().min(1, 'host is required').max(255),
  port: z.number().int().min(1).max(65535).optional(),
  database: z.string().min(1, 'database is required').max(128),
  user: z.string().min(1, 'user is required').max(128),
  password: z.string().max(1024).optional(),
  tls: z.boolean().optional(),
});

export type TargetFields = z.infer<typeof targetFieldsSchema>;
