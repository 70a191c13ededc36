import type { ReactNode } from 'react';
import { Navigate, useLocation } from 'react-router';

import { ApiProvider } from '../api/ApiProvider';
import { useAuth } from './AuthContext';

export function RequireAuth({ children }: { children: ReactNode }) {
  const { token } = useAuth();
  const location = useLocation();
  if (!token) {
    return <Navigate to="/sign-in" replace state={{ from: location.pathname + location.search }} />;
  }
  return <ApiProvider token={token}>{children}</ApiProvider>;
}
