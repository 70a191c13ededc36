import {
  ActionIcon,
  Alert,
  Autocomplete,
  Badge,
  Button,
  Fieldset,
  Group,
  SimpleGrid,
  Stack,
  TagsInput,
  Text,
  Textarea,
  TextInput,
} from '@mantine/core';
import type { ReactNode } from 'react';

import { IconAlert, IconPlus, IconTrash } from '../ui/Icons';
import { REVEAL_MARGIN, useRevealed } from '../ui/useRevealed';
import type { UserFormValues } from './formValues';
import type { UserFormApi } from './useUserForm';

const PLATFORMS = ['GitHub', 'LinkedIn', 'X', 'Mastodon', 'Bluesky', 'Website'];

interface Props {
  form: UserFormApi;
  onSubmit: (values: UserFormValues) => void;
  submitLabel: string;
  submitting: boolean;
  /** An error that belongs to no field. */
  formError: string | null;
  /** Why saving is not possible now, e.g. nothing changed. */
  disabledReason?: string | null;
  actions?: ReactNode;
}

function Legend({ title, badge }: { title: string; badge: string }) {
  return (
    <Group gap="xs" component="span">
      <Text span fw={700}>
        {title}
      </Text>
      <Badge size="xs" variant="light" radius="sm" tt="none">
        {badge}
      </Badge>
    </Group>
  );
}

export function UserForm({ form, onSubmit, submitLabel, submitting, formError, disabledReason, actions }: Props) {
  const linkError = form.errors['socialLinks'];
  const errorRef = useRevealed<HTMLDivElement>(Boolean(formError));
  return (
    <form onSubmit={form.onSubmit(onSubmit)} noValidate aria-label="User">
      <Stack gap="lg">
        {formError && (
          <Alert ref={errorRef} tabIndex={-1} style={REVEAL_MARGIN} color="red" variant="light" title="Not saved" icon={<IconAlert />} role="alert">
            {formError}
          </Alert>
        )}
        <SimpleGrid cols={{ base: 1, md: 2 }} spacing="lg">
          <Fieldset legend={<Legend title="Syncs to Clerk" badge="Clerk" />} radius="md" bg="white">
            <Text size="sm" c="dimmed" mb="sm">
              Saved here, then sent to Clerk. The sync status shows when Clerk has it.
            </Text>
            <Stack gap="sm">
              <TextInput
                label="Email"
                type="email"
                required
                autoComplete="off"
                {...form.getInputProps('email')}
                key={form.key('email')}
              />
              <TextInput
                label="Username"
                description="4 to 64 characters"
                autoComplete="off"
                {...form.getInputProps('username')}
                key={form.key('username')}
              />
              <SimpleGrid cols={{ base: 1, xs: 2 }} spacing="sm">
                <TextInput label="First name" autoComplete="off" {...form.getInputProps('firstName')} key={form.key('firstName')} />
                <TextInput label="Last name" autoComplete="off" {...form.getInputProps('lastName')} key={form.key('lastName')} />
              </SimpleGrid>
            </Stack>
          </Fieldset>

          <Fieldset legend={<Legend title="Stays in Tandem" badge="Local" />} radius="md" bg="white">
            <Text size="sm" c="dimmed" mb="sm">
              Never sent to Clerk: changing only these makes no Clerk call.
            </Text>
            <Stack gap="sm">
              <TextInput label="Display name" autoComplete="off" {...form.getInputProps('displayName')} key={form.key('displayName')} />
              <Textarea label="Bio" autosize minRows={3} maxRows={8} {...form.getInputProps('bio')} key={form.key('bio')} />
              <TagsInput
                label="Roles"
                description="Press Enter or comma after each role"
                splitChars={[',']}
                clearable
                {...form.getInputProps('roles')}
                key={form.key('roles')}
              />
              <Stack gap={6} role="group" aria-labelledby="social-links-label">
                <Text id="social-links-label" size="sm" fw={500}>
                  Social links
                </Text>
                {form.values.socialLinks.length === 0 && (
                  <Text size="sm" c="dimmed">
                    No links.
                  </Text>
                )}
                {form.values.socialLinks.map((_, index) => (
                  <Group key={form.key(`socialLinks.${index}`)} gap="xs" align="flex-start" wrap="nowrap">
                    <Autocomplete
                      aria-label={`Platform of link ${index + 1}`}
                      placeholder="Platform"
                      data={PLATFORMS}
                      w={{ base: 104, sm: 130 }}
                      {...form.getInputProps(`socialLinks.${index}.platform`)}
                    />
                    <TextInput
                      aria-label={`URL of link ${index + 1}`}
                      placeholder="https://…"
                      type="url"
                      style={{ flex: 1 }}
                      {...form.getInputProps(`socialLinks.${index}.url`)}
                    />
                    <ActionIcon
                      variant="subtle"
                      color="gray"
                      size="input-sm"
                      aria-label={`Remove link ${index + 1}`}
                      onClick={() => form.removeListItem('socialLinks', index)}
                    >
                      <IconTrash size={16} />
                    </ActionIcon>
                  </Group>
                ))}
                {linkError && (
                  <Text size="sm" c="red.8" role="alert">
                    {linkError}
                  </Text>
                )}
                <Button
                  variant="subtle"
                  size="xs"
                  leftSection={<IconPlus size={14} />}
                  onClick={() => form.insertListItem('socialLinks', { platform: '', url: '' })}
                  style={{ alignSelf: 'flex-start' }}
                >
                  Add link
                </Button>
              </Stack>
            </Stack>
          </Fieldset>
        </SimpleGrid>

        <Group justify="flex-end" gap="sm">
          {disabledReason && (
            <Text size="sm" c="dimmed">
              {disabledReason}
            </Text>
          )}
          {actions}
          <Button type="submit" loading={submitting} disabled={Boolean(disabledReason)}>
            {submitLabel}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
