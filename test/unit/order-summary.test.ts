import { orderSummary } from '../../domain/order-summary';

describe('orderSummary', () => {
  it('shows items, total and customer on one line', () => {
    expect(orderSummary({ itemCount: 3, totalMinor: 4200, currency: 'EUR', customerId: 'c_1' })).toBe(
      '3 items · 42.00 EUR · customer c_1',
    );
  });

  it('says "1 item" in the singular', () => {
    expect(orderSummary({ itemCount: 1, totalMinor: 1500, currency: 'JPY', customerId: 'c_2' })).toBe(
      '1 item · 1500 JPY · customer c_2',
    );
  });

  it('formats the total in the minor unit of its currency', () => {
    expect(orderSummary({ itemCount: 2, totalMinor: 1234, currency: 'BHD', customerId: 'c_3' })).toBe(
      '2 items · 1.234 BHD · customer c_3',
    );
  });

  it('rejects a total that is not in minor units', () => {
    expect(() => orderSummary({ itemCount: 1, totalMinor: 42.5, currency: 'EUR', customerId: 'c_1' })).toThrow(
      RangeError,
    );
  });
});
