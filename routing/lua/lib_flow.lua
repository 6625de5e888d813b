-- Steps shared by several scripts: an offer going back to the queue, assignment, the end.

local function resolve_offer(offer_id, state)
  redis.call('HSET', k_offer(offer_id), 'state', state, 'resolved_at_ms', fmt(NOW))
  redis.call('EXPIRE', k_offer(offer_id), OFFER_KEEP_S)
  unschedule('offer:' .. offer_id)
end

-- Put an offered interaction back at its original place (its stored score, so the
-- waiting time is kept). `reason` is rejected, timeout or withdrawn; the first two count
-- as a missed offer, and enough of them in a row set the agent away.
local function return_to_queue(offer_id, o, reason)
  local ix_id = o.interaction_id
  local ix = hash(k_ix(ix_id))
  local a = agent(o.agent_id)
  local missed = reason ~= 'withdrawn'

  local offer_state = reason
  if reason == 'timeout' then offer_state = 'expired' end
  resolve_offer(offer_id, offer_state)

  if a then
    release_capacity(a, ix.channel, ix_id)
    forget_interaction(a, ix_id)
  end
  redis.call('HSET', k_ix(ix_id), 'state', 'queued', 'agent_id', '', 'offer_id', '',
    'offer_deadline_ms', '', 'declined_by', o.agent_id)
  -- A declined transfer or a declined sticky offer is not offered to the same agent first again.
  if o.kind == 'transfer' or o.agent_id == ix.preferred_agent then
    redis.call('HSET', k_ix(ix_id), 'sticky_until_ms', '0')
  end
  put_in_queue(ix_id, ix.queue, tonumber(ix.score), tonumber(ix.enqueued_at_ms))

  emit(o.agent_id, {type = 'offer_expired', offer_id = offer_id, conversation_id = ix_id,
    agent_id = o.agent_id, reason = reason})
  if missed then
    stat(ix.queue, 'missed_offers')
    if a then
      local in_row = redis.call('HINCRBY', k_agent(a.id), 'missed_in_row', 1)
      redis.call('HINCRBY', k_agent(a.id), 'missed_offers', 1)
      a.missed_in_row = tostring(in_row)
      if in_row >= setting('max_missed_offers', 3) and a.presence == 'available' then
        set_presence(a, 'away')
        -- An agent set away keeps no pending offer, as with a change of presence by hand.
        for _, other_id in ipairs(redis.call('SMEMBERS', k_agent_ixs(a.id))) do
          local other = redis.call('HMGET', k_ix(other_id), 'state', 'offer_id', 'agent_id')
          if other[1] == 'offered' and other[3] == a.id then
            local other_offer = hash(k_offer(other[2]))
            if other_offer and other_offer.state == 'pending' then
              return_to_queue(other[2], other_offer, 'withdrawn')
            end
          end
        end
      end
    end
  end
  if a then refresh_ready(a) end
  return ix.queue, a
end

local function accept_offer(offer_id, o)
  local ix_id = o.interaction_id
  local ix = hash(k_ix(ix_id))
  local cfg = queue_config(ix.queue)
  resolve_offer(offer_id, 'accepted')

  redis.call('HSET', k_ix(ix_id), 'state', 'assigned', 'assigned_at_ms', fmt(NOW),
    'offer_id', '', 'offer_deadline_ms', '', 'declined_by', '')
  redis.call('HSET', k_agent(o.agent_id), 'missed_in_row', '0')

  -- Speed of answer and service level count the first answer of a contact only, so a
  -- transfer or a re-offer does not count it twice.
  if ix.answered ~= '1' then
    local wait = NOW - tonumber(ix.enqueued_at_ms)
    stat(ix.queue, 'answered')
    stat(ix.queue, 'answer_wait_ms', wait)
    if wait <= queue_ms(cfg, 'service_level_within_s', 60) then stat(ix.queue, 'answered_in_sl') end
    redis.call('HSET', k_ix(ix_id), 'answered', '1', 'answer_wait_ms', fmt(wait))
  end
  if ix.customer_id and ix.customer_id ~= '' then
    redis.call('HSET', k_customer(ix.customer_id), 'last_agent_id', o.agent_id,
      'last_served_at_ms', fmt(NOW))
    redis.call('EXPIRE', k_customer(ix.customer_id), CLOSED_KEEP_S)
  end

  unschedule('urgent:' .. ix_id)
  unschedule('expire:' .. ix_id)
  plan_warning(ix_id, cfg, tonumber(ix.window_expires_at_ms or ''))
  emit(o.agent_id, {type = 'assigned', conversation_id = ix_id, agent_id = o.agent_id,
    offer_id = offer_id, channel = ix.channel, queue = ix.queue})
  return ix
end

-- Close for good: free the agent's capacity and drop the timers.
local function finish(ix_id, ix, a)
  if a then
    release_capacity(a, ix.channel, ix_id)
    forget_interaction(a, ix_id)
    refresh_ready(a)
  end
  redis.call('HSET', k_ix(ix_id), 'state', 'closed', 'agent_id', '', 'finished_at_ms', fmt(NOW))
  redis.call('EXPIRE', k_ix(ix_id), CLOSED_KEEP_S)
  redis.call('SREM', K_ACTIVE, ix_id)
  for _, kind in ipairs({'wrapup:', 'warn:', 'urgent:', 'expire:'}) do unschedule(kind .. ix_id) end
end

-- Abandon a waiting or offered interaction (the customer left, or the window closed).
local function abandon(ix_id, ix, reason)
  if ix.state == 'offered' and ix.offer_id and ix.offer_id ~= '' then
    local a = agent(ix.agent_id)
    resolve_offer(ix.offer_id, 'withdrawn')
    if a then
      release_capacity(a, ix.channel, ix_id)
      forget_interaction(a, ix_id)
      refresh_ready(a)
      emit(a.id, {type = 'offer_expired', offer_id = ix.offer_id, conversation_id = ix_id,
        agent_id = a.id, reason = 'abandoned'})
    end
  end
  take_from_queue(ix_id, ix.queue)
  redis.call('HSET', k_ix(ix_id), 'state', 'abandoned', 'agent_id', '', 'offer_id', '',
    'offer_deadline_ms', '', 'abandoned_at_ms', fmt(NOW), 'abandon_reason', reason)
  redis.call('EXPIRE', k_ix(ix_id), CLOSED_KEEP_S)
  redis.call('SREM', K_ACTIVE, ix_id)
  for _, kind in ipairs({'warn:', 'urgent:', 'expire:'}) do unschedule(kind .. ix_id) end
  if ix.answered ~= '1' then stat(ix.queue, 'abandoned') end
  emit('', {type = 'abandoned', conversation_id = ix_id, queue = ix.queue, reason = reason})
  return ix.agent_id
end

-- Put an interaction into its queue as a new contact (first message, API hand-in, or a
-- customer writing again after close). A returning customer is kept for their last
-- agent for the queue's sticky wait.
local function enqueue(ix_id, spec)
  local queue = spec.queue
  local cfg = queue_config(queue)
  local priority = tonumber(spec.priority or 0)
  local window = tonumber(spec.window_expires_at_ms or '')
  local customer_id = spec.customer_id or ''

  local preferred = spec.preferred_agent or ''
  if preferred == '' and customer_id ~= '' then
    preferred = redis.call('HGET', k_customer(customer_id), 'last_agent_id') or ''
  end
  local sticky_until = 0
  if preferred ~= '' then sticky_until = NOW + queue_ms(cfg, 'sticky_wait_s', 30) end

  local urgent = 0
  if spec.channel == 'whatsapp' then urgent = plan_window(ix_id, cfg, window) end
  local score = score_of(priority, urgent, NOW)

  redis.call('HSET', k_ix(ix_id), 'id', ix_id, 'channel', spec.channel, 'state', 'queued',
    'queue', queue, 'priority', fmt(priority), 'skills', cjson.encode(spec.skills or {}),
    'language', spec.language or '', 'customer_id', customer_id, 'preferred_agent', preferred,
    'sticky_until_ms', fmt(sticky_until), 'enqueued_at_ms', fmt(NOW), 'score', fmt(score),
    'urgent', tostring(urgent), 'window_expires_at_ms', window and fmt(window) or '',
    'answered', '0', 'agent_id', '', 'offer_id', '', 'declined_by', '', 'holds_capacity', '0',
    'phone_number_id', spec.phone_number_id or '', 'source', spec.source or '')
  redis.call('HSETNX', k_ix(ix_id), 'created_at_ms', fmt(NOW))
  redis.call('PERSIST', k_ix(ix_id))
  redis.call('HINCRBY', k_ix(ix_id), 'contacts', 1)
  redis.call('SADD', K_ACTIVE, ix_id)
  put_in_queue(ix_id, queue, score, NOW)
  stat(queue, 'enqueued')
  emit('', {type = 'queued', conversation_id = ix_id, queue = queue, channel = spec.channel,
    priority = priority, preferred_agent_id = preferred})
  return dispatch({queue})
end
