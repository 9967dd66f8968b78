import { IsNotEmpty, IsNumber, IsPositive, IsString, MaxLength } from 'class-validator';

export class TransferDto {
  @IsNumber()
  @IsPositive()
  amount!: number;
}

export class ReauthDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(1024)
  password!: string;
}
