import { z } from 'zod';

/** A ticket id: the UUID the gateway minted. Any letter case is accepted; Redis keys use lower case. */
export const ticketIdSchema = z.uuid();
