import { Anchor, Button, Stack, Title } from '@mantine/core';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { useMutation } from 'urql';

import { describeError, toApiError } from '../api/errors';
import { CreateUserDocument } from '../graphql/generated';
import { IconArrowLeft } from '../ui/Icons';
import { toastSuccess } from '../ui/toast';
import { toCreateInput, valuesOf, type UserFormValues } from './formValues';
import { UserForm } from './UserForm';
import { showFieldError, useUserForm } from './useUserForm';

export function CreateUserPage() {
  const form = useUserForm(valuesOf());
  const [{ fetching }, create] = useMutation(CreateUserDocument);
  const [formError, setFormError] = useState<string | null>(null);
  const navigate = useNavigate();

  async function submit(values: UserFormValues) {
    setFormError(null);
    const result = await create({ input: toCreateInput(values) });
    if (result.error) {
      const error = toApiError(result.error);
      if (!showFieldError(form, error)) setFormError(describeError(error));
      return;
    }
    if (!result.data) return;
    const user = result.data.createUser;
    toastSuccess('User created', `${user.email} is saved and on its way to Clerk.`);
    navigate(`/users/${user.id}`);
  }

  return (
    <Stack gap="md" maw={1100} mx="auto">
      <Anchor component={Link} to="/users" size="sm">
        <IconArrowLeft size={14} /> Users
      </Anchor>
      <Title order={1} size="h2">
        New user
      </Title>
      <UserForm
        form={form}
        onSubmit={(v) => void submit(v)}
        submitLabel="Create user"
        submitting={fetching}
        formError={formError}
        actions={
          <Button component={Link} to="/users" variant="default">
            Cancel
          </Button>
        }
      />
    </Stack>
  );
}
