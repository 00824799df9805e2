import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { rebalanceSearchAttributes } from '../rebalance/search-attributes';

/**
 * The custom search attributes operators filter on in the Web UI and `temporal workflow list`.
 * Registered by `npm start`, the test server and `shopflow setup` from this one list.
 */
export const OrderStatus = defineSearchAttributeKey('OrderStatus', SearchAttributeType.KEYWORD);
export const CustomerId = defineSearchAttributeKey('CustomerId', SearchAttributeType.KEYWORD);
export const SellerIds = defineSearchAttributeKey('SellerIds', SearchAttributeType.KEYWORD_LIST);
/** The order's total in minor units of its currency (e.g. 4200 = 42.00 EUR). */
export const OrderTotal = defineSearchAttributeKey('OrderTotal', SearchAttributeType.INT);
/** The step a saga-like workflow is on (or `completed` / `failed`): "where is it stuck?" */
export const SagaStep = defineSearchAttributeKey('SagaStep', SearchAttributeType.KEYWORD);

export const shopflowSearchAttributes = [
  OrderStatus,
  CustomerId,
  SellerIds,
  OrderTotal,
  SagaStep,
  ...rebalanceSearchAttributes,
];
