import { notifications } from '@mantine/notifications';

import { describeError, type ApiError } from '../api/errors';

const closeButtonProps = { 'aria-label': 'Dismiss' };

export const toastSuccess = (title: string, message: string) =>
  notifications.show({ color: 'green', title, message, autoClose: 4000, closeButtonProps });

export const toastWarning = (title: string, message: string) =>
  notifications.show({ color: 'yellow', title, message, autoClose: 8000, closeButtonProps });

export const toastError = (title: string, error: ApiError | string) =>
  notifications.show({
    color: 'red',
    title,
    message: typeof error === 'string' ? error : describeError(error),
    autoClose: 10000,
    closeButtonProps,
  });
