import { Alert, Anchor, Button, Group, Stack, Text, Title } from '@mantine/core';
import { useEffect, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { useMutation, useQuery } from 'urql';

import { describeError, toApiError } from '../api/errors';
import { UpdateUserDocument, UserProfileDocument } from '../graphql/generated';
import { UserActions } from '../users/UserActions';
import { nameOf } from '../users/names';
import { IconArrowLeft } from '../ui/Icons';
import { ErrorState, LoadingState } from '../ui/StateViews';
import { SyncBadge } from '../ui/SyncBadge';
import { toastSuccess } from '../ui/toast';
import { ConflictNotice } from './ConflictNotice';
import { changedFields, CLERK_FIELDS, rebase, toUpdateInput, valuesOf, type UserFormValues } from './formValues';
import { UserForm } from './UserForm';
import { showFieldError, useUserForm } from './useUserForm';

/** What the form was loaded from: saves send `version` as `expectedVersion`. */
interface Loaded {
  values: UserFormValues;
  version: number;
}

export function EditUserPage() {
  const { id = '' } = useParams();
  const [{ data, error }, refetch] = useQuery({
    query: UserProfileDocument,
    variables: { id },
    requestPolicy: 'cache-and-network',
  });
  const [{ fetching: saving }, update] = useMutation(UpdateUserDocument);
  const form = useUserForm(valuesOf());
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [refused, setRefused] = useState(false);
  const [formError, setFormError] = useState<string | null>(null);
  const navigate = useNavigate();
  // Pushed rows land in the cache, so another admin's save shows up here live.
  const latest = data?.user;

  const load = (values: UserFormValues, version: number) => {
    setLoaded({ values, version });
    form.setInitialValues(values);
    form.setValues(values);
    form.clearErrors();
    setRefused(false);
    setFormError(null);
  };

  useEffect(() => {
    if (latest && !loaded) load(valuesOf(latest), latest.version);
    // Load once; later versions are offered through the conflict notice.
  }, [latest, loaded]);

  if (error && !latest) return <ErrorState title="Could not load this user" error={error} onRetry={() => refetch({ requestPolicy: 'network-only' })} />;
  if (data && !latest) {
    return (
      <Alert color="gray" title="No such user" role="alert">
        There is no user with this id. <Anchor component={Link} to="/users">Back to users</Anchor>
      </Alert>
    );
  }
  if (!latest || !loaded) return <LoadingState label="Loading user…" />;

  const theirsAhead = latest.version !== loaded.version;

  async function submit(values: UserFormValues) {
    if (!loaded) return;
    setFormError(null);
    const result = await update({ id, input: toUpdateInput(loaded.values, values), expectedVersion: loaded.version });
    if (result.error) {
      const apiError = toApiError(result.error);
      if (apiError.code === 'CONFLICT') {
        setRefused(true);
        refetch({ requestPolicy: 'network-only' });
      } else if (!showFieldError(form, apiError)) {
        setFormError(describeError(apiError));
      }
      return;
    }
    if (!result.data) return;
    const saved = result.data.updateUser;
    const clerk = changedFields(loaded.values, values).some((f) => (CLERK_FIELDS as readonly string[]).includes(f));
    toastSuccess('Saved', clerk ? 'Saved in Tandem; Clerk is being updated.' : 'Saved in Tandem. Nothing to send to Clerk.');
    navigate(`/users/${saved.id}`);
  }

  const edits = changedFields(loaded.values, form.values);

  return (
    <Stack gap="md" maw={1100} mx="auto">
      <Anchor component={Link} to={`/users/${id}`} size="sm">
        <IconArrowLeft size={14} /> {nameOf(latest)}
      </Anchor>
      <Group justify="space-between" align="flex-start" gap="sm">
        <Stack gap={4}>
          <Title order={1} size="h2">
            Edit user
          </Title>
          <Group gap="xs">
            <Text c="dimmed" size="sm">
              {latest.email} · version {loaded.version}
            </Text>
            <SyncBadge state={latest} />
          </Group>
        </Stack>
        <UserActions user={latest} />
      </Group>

      {latest.deletedAt ? (
        <Alert color="gray" title="This user is deleted" role="alert">
          Deleted users cannot be edited. <Anchor component={Link} to={`/users/${id}`}>See the history</Anchor>
        </Alert>
      ) : (
        <>
          {(refused || theirsAhead) && (
            <ConflictNotice
              loaded={loaded.values}
              mine={form.values}
              theirs={valuesOf(latest)}
              theirVersion={latest.version}
              refused={refused}
              onUseTheirs={() => load(valuesOf(latest), latest.version)}
              onKeepMine={() => {
                const merged = rebase(loaded.values, form.values, valuesOf(latest));
                load(valuesOf(latest), latest.version);
                form.setValues(merged);
              }}
            />
          )}
          <UserForm
            form={form}
            onSubmit={(v) => void submit(v)}
            submitLabel="Save changes"
            submitting={saving}
            formError={formError}
            disabledReason={edits.length === 0 ? 'No changes to save' : null}
            actions={
              <Button component={Link} to={`/users/${id}`} variant="default">
                Cancel
              </Button>
            }
          />
        </>
      )}
    </Stack>
  );
}
