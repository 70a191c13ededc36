import { useForm, type UseFormReturnType } from '@mantine/form';

import { fieldMessage, type ApiError } from '../api/errors';
import { isFieldName, type UserFormValues } from './formValues';

export type UserFormApi = UseFormReturnType<UserFormValues>;

export function useUserForm(initialValues: UserFormValues): UserFormApi {
  return useForm<UserFormValues>({
    mode: 'controlled',
    initialValues,
    // Only what the panel can say better than the server; the server has the rules.
    validate: {
      email: (value) => (value.trim() ? null : 'Email is required'),
      socialLinks: {
        platform: (value, values, path) => (value.trim() || !linkAt(values, path)?.url.trim() ? null : 'Name the platform'),
        url: (value, values, path) => (value.trim() || !linkAt(values, path)?.platform.trim() ? null : 'Add the link'),
      },
    },
  });
}

function linkAt(values: UserFormValues, path: string) {
  const index = Number(/socialLinks\.(\d+)\./.exec(path)?.[1]);
  return values.socialLinks[index];
}

/**
 * Puts a `VALIDATION` error under its field and focuses it. Answers false for
 * errors that belong to no field, which the caller shows above the form.
 */
export function showFieldError(form: UserFormApi, error: ApiError): boolean {
  if (error.code !== 'VALIDATION' || !error.field || !isFieldName(error.field)) return false;
  form.setFieldError(error.field, fieldMessage(error));
  form.getInputNode(error.field)?.focus();
  return true;
}
